"""Read-only queries on a :class:`~quantmarl.book.state.BookState` (jit- and vmap-able).

Prices are int64 ticks and quantities int64 lots. An empty side has best
price 0 (real prices are > 0). Float results (mid, imbalance) are statistics
for observations and plots, never used for money.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from quantmarl.book.state import ASK, BID, BookState


def _top(book: BookState, row: int) -> jax.Array:
    """Price of the best order on ``row`` (0 when the side is empty)."""
    count = book.count[row]
    idx = jnp.maximum(count - 1, 0)
    return jnp.where(count > 0, book.price[row, idx], 0)


def best_bid(book: BookState) -> jax.Array:
    """Highest bid in ticks, int64 [] (0 if there are no bids)."""
    return _top(book, BID)


def best_ask(book: BookState) -> jax.Array:
    """Lowest ask in ticks, int64 [] (0 if there are no asks)."""
    return _top(book, ASK)


def spread(book: BookState) -> jax.Array:
    """Best ask minus best bid in ticks, int64 [] (-1 when a side is empty)."""
    bid, ask = best_bid(book), best_ask(book)
    return jnp.where((bid > 0) & (ask > 0), ask - bid, -1)


def mid_x2(book: BookState) -> jax.Array:
    """Best bid + best ask in ticks (twice the mid, exact), int64 [] (0 when a side is empty)."""
    bid, ask = best_bid(book), best_ask(book)
    return jnp.where((bid > 0) & (ask > 0), bid + ask, 0)


def mid(book: BookState) -> jax.Array:
    """Mid price in ticks, float64 [] (NaN when a side is empty)."""
    m2 = mid_x2(book)
    return jnp.where(m2 > 0, m2 / 2.0, jnp.nan)


def total_qty(book: BookState) -> jax.Array:
    """Resting lots per side, int64 [2] (bids, asks)."""
    live = jnp.arange(book.capacity)[None, :] < book.count[:, None]
    return jnp.sum(jnp.where(live, book.qty, 0), axis=1)


def ladder(book: BookState, k: int = 5) -> tuple[jax.Array, jax.Array]:
    """Top-``k`` price levels per side, best first.

    Returns ``(prices, qtys)``, each int64 [2, k] (row 0 bids, row 1 asks);
    missing levels have price 0 and qty 0. ``k`` is static.
    """
    cap = book.capacity
    slot = jnp.arange(cap)[None, :]
    live = slot < book.count[:, None]
    above = jnp.concatenate([book.price[:, 1:], jnp.zeros((2, 1), jnp.int64)], axis=1)
    is_top = slot == book.count[:, None] - 1
    starts = live & (is_top | (book.price != above))  # best slot of each price level
    # levels strictly better than this slot = level starts above it
    level = jnp.cumsum(starts[:, ::-1], axis=1)[:, ::-1] - 1
    level = jnp.where(live, level, k)

    def per_row(level_r, price_r, qty_r):
        qty = jax.ops.segment_sum(qty_r, level_r, num_segments=k + 1)[:k]
        price = jax.ops.segment_max(price_r, level_r, num_segments=k + 1)[:k]
        return jnp.where(qty > 0, price, 0), qty

    return jax.vmap(per_row)(level, book.price, jnp.where(live, book.qty, 0))


def imbalance(book: BookState, k: int = 1) -> jax.Array:
    """(bid lots - ask lots) / (bid lots + ask lots) over the top ``k`` levels, float64 in [-1, 1].

    0 when both sides are empty.
    """
    _, qty = ladder(book, k)
    bid, ask = jnp.sum(qty[BID]), jnp.sum(qty[ASK])
    total = bid + ask
    return jnp.where(total > 0, (bid - ask) / jnp.maximum(total, 1), 0.0)

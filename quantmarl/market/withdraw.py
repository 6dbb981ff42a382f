"""Withdrawing an account from the market: every order it has resting or queued is removed.

:func:`withdraw_account` is what a live simulation calls when an agent leaves: its
resting CDA orders (every asset's book) and the orders it queued for halted
assets are cancelled, and nothing else changes. Its cash and positions stay in
the ledger (resting orders reserve no cash), so conservation holds exactly.
Pure and jittable; ``account`` may be traced.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from quantmarl.book.cda import cancel_where
from quantmarl.market.halt_queue import HaltQueue
from quantmarl.market.state import MarketState

__all__ = ["withdraw_account"]


def _unqueue(queue: HaltQueue, account: jax.Array) -> tuple[HaltQueue, jax.Array]:
    """The queue without ``account``'s orders (order of the rest kept); lots removed [A]."""
    mine = (queue.side != 0) & (queue.owner == account)
    keep = (queue.side != 0) & ~mine
    cap = queue.side.shape[1]
    at = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, cap)
    rows = jnp.arange(queue.side.shape[0])[:, None]

    def pack(x, empty):
        return jnp.full_like(x, empty).at[rows, at].set(x, mode="drop")

    removed = jnp.sum(jnp.where(mine, queue.qty, 0), axis=1)
    return queue.replace(side=pack(queue.side, 0), price=pack(queue.price, 0),
                         qty=pack(queue.qty, 0), owner=pack(queue.owner, -1),
                         count=jnp.sum(keep, axis=1, dtype=jnp.int32)), removed


def withdraw_account(state: MarketState, account: jax.Array | int) -> tuple[MarketState,
                                                                            jax.Array]:
    """``(state, removed)``: ``state`` without ``account``'s resting and queued orders;
    ``removed`` int64 [A] lots cancelled per asset (book and halt queue together)."""
    account = jnp.asarray(account, jnp.int32)
    queue, removed = _unqueue(state.halt_queue, account)
    books = state.books
    if books is not None:  # CDA mode: one book per asset
        books, lots = jax.vmap(lambda b: cancel_where(b, b.owner == account))(books)
        removed = removed + jnp.sum(lots, axis=1)
    return state.replace(books=books, halt_queue=queue), removed.astype(jnp.int64)

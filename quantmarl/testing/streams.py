"""Random order streams like real order flow, for tests and benchmarks.

Limit orders within a few ticks of a drifting mid price, cancels and deletes
(mostly of resting orders, found through a reference book), some market
orders, and a sprinkling of invalid rows when asked. Numpy in, numpy out.
"""

from __future__ import annotations

import numpy as np

from quantmarl.testing.refbook import CANCEL, DELETE, LIMIT, MARKET, RefBook


def order_stream(
    n: int,
    seed: int = 0,
    *,
    mid: int = 10_000,
    spread_ticks: int = 10,
    cancel_frac: float = 0.2,
    market_frac: float = 0.05,
    invalid_frac: float = 0.0,
    max_qty: int = 100,
    capacity: int | None = 256,
    target_depth: int | None = None,
) -> np.ndarray:
    """An int64 ``(n, 5)`` stream: type, order_id, side, price, qty.

    When a side holds ``target_depth`` orders (default: 3/4 of ``capacity``),
    a new order for that side becomes an aggressive order on the other side,
    so books hover around a realistic depth instead of filling up.
    """
    if target_depth is None:
        target_depth = (3 * capacity) // 4 if capacity else 192
    rng = np.random.default_rng(seed)
    book = RefBook(capacity)
    out = np.zeros((n, 5), np.int64)
    next_id = 1
    u = rng.random(n)
    for i in range(n):
        if rng.random() < 0.05:
            mid = max(spread_ticks + 2, mid + int(rng.integers(-1, 2)))
        side = int(rng.choice((-1, 1)))
        qty = int(rng.integers(1, max_qty + 1))
        if u[i] < invalid_frac:
            row = (int(rng.integers(0, 6)), next_id, int(rng.integers(-1, 2)),
                   int(rng.integers(-5, 5)), int(rng.integers(-2, 3)))
        elif u[i] < invalid_frac + cancel_frac and book.orders:
            ids = list(book.orders) if len(book.orders) < 64 else None
            oid = (rng.choice(ids) if ids else _random_live_id(book, rng))
            if rng.random() < 0.05:
                oid = next_id + 10**6  # unknown id
            typ = CANCEL if rng.random() < 0.5 else DELETE
            row = (typ, int(oid), side, 0, qty)
        elif u[i] < invalid_frac + cancel_frac + market_frac:
            row = (MARKET, next_id, side, 0, qty)
            next_id += 1
        elif book.count[side] >= target_depth:
            # deep book: take liquidity from it instead of adding more
            price = mid - side * int(rng.integers(0, spread_ticks + 1))
            row = (LIMIT, next_id, -side, price, int(rng.integers(1, 3 * max_qty + 1)))
            next_id += 1
        else:
            # passive most of the time, sometimes crossing a few ticks
            offset = int(rng.integers(-2, spread_ticks + 1))
            row = (LIMIT, next_id, side, mid - side * offset, qty)
            next_id += 1
        out[i] = row
        book.process(*row)
    return out


def _random_live_id(book: RefBook, rng: np.random.Generator) -> int:
    side = int(rng.choice((-1, 1))) if book.count[1] and book.count[-1] else (
        1 if book.count[1] else -1)
    levels = book.levels[side]
    prices = [p for p, q in levels.items() if q]
    queue = levels[prices[int(rng.integers(len(prices)))]]
    return queue[int(rng.integers(len(queue)))].order_id


def with_owner(messages: np.ndarray, owner: int = -1) -> np.ndarray:
    """Append an owner column: (n, 5) -> (n, 6) int64, as the kernel consumes."""
    col = np.full((messages.shape[0], 1), owner, np.int64)
    return np.concatenate([messages.astype(np.int64), col], axis=1)

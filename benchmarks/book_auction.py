"""Batch-auction throughput: one jitted :func:`quantmarl.book.auction.clear` over n orders.

Run ``python -m benchmarks.book_auction``; prints one JSON record per line.
"""

from __future__ import annotations

import json
import statistics
import time

import jax
import numpy as np

from quantmarl import runtime
from quantmarl.book.auction import MARKET, clear

MID = 10_000  # ticks


def make_orders(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order stream: limits within 10 ticks of ``MID``, ~5% market orders, 1..100 lots."""
    rng = np.random.default_rng(seed)
    side = rng.choice(np.array([1, -1], np.int64), size=n)
    price = MID + rng.integers(-10, 11, size=n, dtype=np.int64)
    price = np.where(rng.random(n) < 0.05, MARKET, price).astype(np.int64)
    qty = rng.integers(1, 101, size=n, dtype=np.int64)
    return side, price, qty


def auction_benchmark(n: int = 100_000, repeats: int = 20) -> list[dict]:
    """Orders/s of one jitted clear at ``n`` orders (median of ``repeats``) and compile seconds."""
    side, price, qty = (jax.device_put(a) for a in make_orders(n))
    ref = jax.device_put(np.int64(MID))
    t0 = time.perf_counter()
    clear.lower(side, price, qty, ref).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(clear(side, price, qty, ref))  # warm the jit cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(clear(side, price, qty, ref))
        times.append(time.perf_counter() - t0)
    label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    return [
        {
            "name": f"auction_orders_per_s_{label}",
            "value": n / statistics.median(times),
            "unit": "orders/s",
        },
        {"name": "auction_compile_s", "value": compile_s, "unit": "s"},
    ]


if __name__ == "__main__":
    runtime.configure()  # before any computation
    for record in auction_benchmark():
        print(json.dumps(record))

"""Demo: replay a random order stream through the jitted int64 order book.

``python -m quantmarl.demo [--messages N] [--capacity C] [--seed S]`` prints
the final book ladder and a one-line throughput figure.
"""

from __future__ import annotations

import argparse
import time

import jax

from quantmarl.book import replay_messages
from quantmarl.book.display import format_ladder
from quantmarl.testing.streams import order_stream


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000, help="messages to replay")
    parser.add_argument("--capacity", type=int, default=256, help="orders per book side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--depth", type=int, default=8, help="price levels shown per side")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error(f"--messages must be >= 1, got {args.messages}")

    print(f"generating {args.messages:,} messages (limit/cancel/delete/market) ...", flush=True)
    msgs = order_stream(args.messages, seed=args.seed, capacity=args.capacity)
    t0 = time.perf_counter()
    replay_messages(msgs, capacity=args.capacity)  # first run compiles
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = replay_messages(msgs, capacity=args.capacity)
    jax.block_until_ready(result.book)
    seconds = time.perf_counter() - t0

    print()
    print(format_ladder(result.bids, result.asks, depth=args.depth))
    print()
    traded = int(result.fills[:, 3].sum()) if len(result.fills) else 0
    print(
        f"replayed {args.messages:,} messages in {seconds:.2f} s "
        f"({args.messages / seconds:,.0f} msgs/s; first run with compile {first_s:.1f} s): "
        f"{len(result.fills):,} fills, {traded:,} lots traded, "
        f"{len(result.rejected):,} rejected"
    )


if __name__ == "__main__":
    main()

"""Demo: the jitted int64 order book, and a live market.

``python -m quantmarl.demo [--messages N] [--capacity C] [--seed S]`` replays a
random order stream, prints the final book ladder and a one-line throughput
figure. ``python -m quantmarl.demo --agents 100000 [--steps 300]`` runs a
market of that many reactive agents (batch auctions above 5,000 agents, the
continuous book below) and shows prices, spread and depth live, with a flash
crash at one third of the run; it keeps its memory low with
:mod:`quantmarl.memory` (one malloc arena, freed memory returned after
compiling).
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
    parser.add_argument("--agents", type=int, default=0,
                        help="run a live market of this many reactive agents instead")
    parser.add_argument("--steps", type=int, default=300, help="market steps (with --agents)")
    args = parser.parse_args(argv)
    if args.agents:
        if args.agents < 10 or args.steps < 10:
            parser.error("--agents must be >= 10 and --steps >= 10")
        from quantmarl import memory

        memory.limit_arenas(1)  # before JAX starts its threads
        live_market(args.agents, args.steps, args.seed, args.depth)
        return
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



def live_market(n_agents: int, steps: int, seed: int, depth: int, chunk: int = 10) -> None:
    """Run a market and redraw a terminal dashboard every ``chunk`` steps."""
    import sys

    import jax
    import numpy as np

    from quantmarl import memory
    from quantmarl.book import query
    from quantmarl.book.display import format_ladder
    from quantmarl.events import flash_crash, make_schedule
    from quantmarl.market import MarketConfig, default_params, reset
    from quantmarl.market.display import market_panel
    from quantmarl.market.step import _scan

    clearing = "auction" if n_agents > 5000 else "cda"
    mix = (("market_maker", 0.02), ("fundamental", 0.2), ("momentum", 0.2),
           ("mean_reversion", 0.2), ("noise", 0.38))
    counts = [max(1, int(n_agents * share)) for _, share in mix]
    counts[-1] += n_agents - sum(counts)
    config = MarketConfig(reactive=tuple((name, c) for (name, _), c in zip(mix, counts,
                                                                          strict=True)),
                          background_orders=256, clearing=clearing, record_agent_trades=False,
                          episode_length=steps)
    params = default_params(config).replace(
        schedule=make_schedule([flash_crash(0.08, 5, steps // 3)], capacity=config.max_events))
    state = jax.jit(reset, static_argnums=1)(jax.random.key(seed), config, params)
    jax.block_until_ready(state)
    memory.forget_compiled()  # reset's programs are not needed again
    print(f"{n_agents:,} reactive agents ({clearing} clearing), compiling ...", flush=True)
    t0 = time.perf_counter()
    jax.block_until_ready(_scan(jax.random.key(seed), state, params, config, chunk))
    compile_s = time.perf_counter() - t0
    memory.release()
    tty = sys.stdout.isatty()
    closes, funds, vols, spreads, depths, halts = [], [], [], [], [], []
    keys = jax.random.split(jax.random.key(seed + 1), steps // chunk)
    t0 = time.perf_counter()
    for i, key in enumerate(keys):
        state, rec = _scan(key, state, params, config, chunk)
        for out, field in ((closes, rec.close), (funds, rec.fundamental), (vols, rec.volume),
                           (spreads, rec.spread), (depths, rec.depth), (halts, rec.halted)):
            out += list(np.asarray(field)[:, 0])  # asset 0
        ladder = ""
        if state.books is not None:
            px, qty = (np.asarray(x) for x in query.ladder(
                jax.tree.map(lambda x: x[0], state.books), depth))
            bids, asks = (np.stack([px[r], qty[r]], 1)[qty[r] > 0] for r in (0, 1))
            ladder = format_ladder(bids, asks, depth=depth)
        panel = market_panel((i + 1) * chunk, closes, funds, vols, spreads, depths, halts, ladder)
        if tty:
            print("\x1b[H\x1b[2J" + panel, flush=True)
        elif (i + 1) % max(1, len(keys) // 5) == 0 or i == len(keys) - 1:
            print(panel + "\n", flush=True)
    seconds = time.perf_counter() - t0
    print(f"{steps:,} steps of {n_agents:,} agents in {seconds:.2f} s "
          f"({steps * n_agents / seconds:,.0f} agent-steps/s including display; "
          f"compile {compile_s:.1f} s)")


if __name__ == "__main__":
    main()

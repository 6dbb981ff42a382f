"""Demo: the jitted int64 order book, and a live market.

``python -m quantmarl.demo [--messages N] [--capacity C] [--seed S]`` replays a
random order stream, prints the final book ladder and a one-line throughput
figure. ``python -m quantmarl.demo --agents 100000 [--steps 300]`` runs a
market of that many reactive agents (batch auctions above 5,000 agents, the
continuous book below) and shows prices, spread and depth live, with a flash
crash at one third of the run; it keeps its memory low with
:mod:`quantmarl.runtime.memory` (one malloc arena, freed memory returned after
compiling).
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import numpy as np

from quantmarl import runtime
from quantmarl.book import query, replay_messages
from quantmarl.book.state import FILL_QTY, MsgType
from quantmarl.env.render import format_ladder, market_panel
from quantmarl.events import flash_crash, make_schedule
from quantmarl.market import MarketConfig, default_params, reset, run_from


def random_orders(n: int, seed: int = 0, *, lifetime: int = 256, mid: int = 10_000,
                  spread_ticks: int = 10, market_frac: float = 0.05,
                  max_qty: int = 100) -> np.ndarray:
    """An int64 ``(n, 5)`` message stream (type, order_id, side, price, qty), numpy only.

    Orders (limit orders within a few ticks of a drifting mid price, sometimes
    crossing it; a share ``market_frac`` of market orders) alternate with
    expiries: each order is deleted ``lifetime`` orders after it arrived (a
    rejection when it has traded already), and before that each expiry row
    cancels one lot of a random earlier order. The book therefore holds at
    most ``lifetime`` orders.
    """
    rng = np.random.default_rng(seed)
    m = (n + 1) // 2
    ids = np.arange(1, m + 1)
    side = rng.choice(np.array([-1, 1]), m)
    is_market = rng.random(m) < market_frac
    mids = mid + np.cumsum(rng.integers(-1, 2, m) * (rng.random(m) < 0.05))
    price = np.where(is_market, 0, mids - side * rng.integers(-2, spread_ticks + 1, m))
    kind = np.where(is_market, int(MsgType.MARKET), int(MsgType.LIMIT))
    orders = np.stack([kind, ids, side, price, rng.integers(1, max_qty + 1, m)], axis=1)
    old = ids - lifetime
    earlier = rng.integers(1, np.maximum(ids - 1, 1) + 1)
    expiries = np.stack([np.where(old > 0, int(MsgType.DELETE), int(MsgType.CANCEL)),
                         np.where(old > 0, old, earlier), side, np.zeros_like(ids),
                         np.ones_like(ids)], axis=1)
    return np.stack([orders, expiries], axis=1).reshape(-1, 5)[:n].astype(np.int64)


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
        runtime.configure(lean_memory=True)  # before JAX starts its threads
        live_market(args.agents, args.steps, args.seed, args.depth)
        return
    if args.messages < 1:
        parser.error(f"--messages must be >= 1, got {args.messages}")
    runtime.configure()

    print(f"generating {args.messages:,} messages (limit/cancel/delete/market) ...", flush=True)
    msgs = random_orders(args.messages, seed=args.seed, lifetime=args.capacity)
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
    traded = int(result.fills[:, FILL_QTY].sum()) if len(result.fills) else 0
    print(
        f"replayed {args.messages:,} messages in {seconds:.2f} s "
        f"({args.messages / seconds:,.0f} msgs/s; first run with compile {first_s:.1f} s): "
        f"{len(result.fills):,} fills, {traded:,} lots traded, "
        f"{len(result.rejected):,} rejected"
    )


def live_market(n_agents: int, steps: int, seed: int, depth: int, chunk: int = 10) -> None:
    """Run a market and redraw a terminal dashboard every ``chunk`` steps."""
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
    runtime.memory.forget_compiled()  # reset's programs are not needed again
    print(f"{n_agents:,} reactive agents ({clearing} clearing), compiling ...", flush=True)
    t0 = time.perf_counter()
    jax.block_until_ready(run_from(jax.random.key(seed), state, params, config, chunk))
    compile_s = time.perf_counter() - t0
    runtime.memory.release()
    tty = sys.stdout.isatty()
    closes, funds, vols, spreads, depths, halts = [], [], [], [], [], []
    keys = jax.random.split(jax.random.key(seed + 1), steps // chunk)
    t0 = time.perf_counter()
    for i, key in enumerate(keys):
        state, rec = run_from(key, state, params, config, chunk)
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

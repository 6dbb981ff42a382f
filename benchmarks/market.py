"""Market throughput and memory: 100k reactive agents (auction mode; 1 and 4 assets),
1k agents in CDA mode.

Run ``python -m benchmarks.market [--quick]``; prints JSON lines
``{"name", "value", "unit"}``. Each workload runs in its own child process so
that its peak RSS (whole process, JAX included) is its own. The child runs as
a memory-conscious application would (:mod:`quantmarl.runtime.memory`): one malloc
arena, the one-off programs of building and resetting the market dropped once
done, and freed memory handed back between phases (reset, tracing,
compiling, running); ``--plain`` measures without that. Agents counted here
are individually simulated reactive agents; the background pool's
represented orders are reported separately and never added to them.
Compile time is excluded from throughput and reported apart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from benchmarks.common import emit, machine, record
from quantmarl import runtime

# 100k agents: 2% market makers, then value, momentum, mean-reversion and noise traders
MIX = (("market_maker", 0.02), ("fundamental", 0.2), ("momentum", 0.2),
       ("mean_reversion", 0.2), ("noise", 0.38))


def _config(n_agents: int, n_assets: int, clearing: str, background: int):
    from quantmarl.market import MarketConfig

    counts = [int(n_agents * share) for _, share in MIX]
    counts[-1] += n_agents - sum(counts)
    reactive = tuple((name, c) for (name, _), c in zip(MIX, counts, strict=True))
    return MarketConfig(n_assets=n_assets, reactive=reactive, background_orders=background,
                        clearing=clearing, record_agent_trades=False, book_capacity=256)


def child(n_agents: int, n_assets: int, clearing: str, steps: int, background: int,
          lean: bool = True) -> dict:
    """Run one workload in this process and return its figures."""
    import resource

    runtime.configure(lean_memory=lean)  # before JAX starts its threads
    release = runtime.memory.release if lean else (lambda: None)
    forget = runtime.memory.forget_compiled if lean else release  # after one-off programs

    import jax

    from quantmarl.market import default_params, reset, run_from

    config = _config(n_agents, n_assets, clearing, background)
    params = default_params(config)
    release()
    state = jax.jit(reset, static_argnums=1)(jax.random.key(0), config, params)
    jax.block_until_ready(state)
    forget()  # reset's programs are not needed again
    t0 = time.perf_counter()
    lowered = run_from.lower(jax.random.key(1), state, params, config, steps)
    forget()  # tracing caches: the program is lowered
    compiled = lowered.compile()
    compile_s = time.perf_counter() - t0
    del lowered
    release()
    jax.block_until_ready(compiled(jax.random.key(1), state, params))  # warm
    t0 = time.perf_counter()
    final, records = compiled(jax.random.key(2), state, params)
    jax.block_until_ready(records)
    seconds = time.perf_counter() - t0
    state_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state))
    return {
        "steps_per_s": steps / seconds,
        "agent_steps_per_s": steps * config.n_agents / seconds,
        "compile_s": compile_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "state_bytes": state_bytes,
        "background_orders_per_step": background * n_assets,
        "volume": int(records.volume.sum()),
    }


def _run_child(*args, plain: bool = False) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.market", "--child", *map(str, args)]
    if plain:
        cmd.append("--plain")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (smoke test)")
    parser.add_argument("--plain", action="store_true",
                        help="no memory hygiene in the workload processes (see the docstring)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, a, mode, steps, bg = args.child
        print(json.dumps(child(int(n), int(a), mode, int(steps), int(bg), lean=not args.plain)))
        return
    runtime.configure()  # before any computation
    steps = 20 if args.quick else 100
    emit([machine()])
    plain = args.plain
    big = _run_child(100_000, 1, "auction", steps, 256, plain=plain)
    emit([
        record("market_agent_steps_per_s_100k", big["agent_steps_per_s"], "agent-steps/s"),
        record("market_steps_per_s_100k", big["steps_per_s"], "steps/s"),
        record("market_peak_rss_mb_100k", big["peak_rss_mb"], "MB"),
        record("market_state_bytes_100k", big["state_bytes"], "bytes"),
        record("market_compile_s_100k", big["compile_s"], "s"),
        record("market_background_orders_per_step_100k", big["background_orders_per_step"],
               "represented orders/step"),
    ])
    if not plain:  # the same workload without memory hygiene, for comparison
        base = _run_child(100_000, 1, "auction", steps, 256, plain=True)
        emit([record("market_peak_rss_mb_100k_plain", base["peak_rss_mb"], "MB"),
              record("market_peak_rss_lean_vs_plain", big["peak_rss_mb"] / base["peak_rss_mb"],
                     "ratio")])
    four = _run_child(100_000, 4, "auction", steps, 256, plain=plain)
    emit([
        record("market_agent_steps_per_s_100k_4assets", four["agent_steps_per_s"],
               "agent-steps/s"),
        record("market_peak_rss_mb_100k_4assets", four["peak_rss_mb"], "MB"),
    ])
    cda = _run_child(1_000, 1, "cda", steps, 64, plain=plain)
    emit([
        record("market_cda_steps_per_s_1k", cda["steps_per_s"], "steps/s"),
        record("market_cda_agent_steps_per_s_1k", cda["agent_steps_per_s"], "agent-steps/s"),
        record("market_cda_compile_s_1k", cda["compile_s"], "s"),
    ])


if __name__ == "__main__":
    main()

"""Evaluate a training checkpoint: ``python -m quantmarl.evaluate --checkpoint DIR``.

Runs ``--episodes`` fresh episodes of the checkpoint's market (its learners act
with their trained policies, its frozen opponents with theirs, the reactive and
background tiers as configured) and prints, per agent, PnL (fraction of initial
wealth), Sharpe (per episode), maximum drawdown and win rate, each with a 95%
interval over episodes (t-interval; Wilson for the win rate). ``--baseline``
adds, per learner group, PnL and Sharpe of the greedy and sampled policies beside the
uniform-random, hold-only and scripted baselines on the same episodes (intervals over
the checkpoint's seeds) and the trained / not-trained verdict
(:mod:`quantmarl.rl.compare`). ``--render ansi`` prints
the market view at the end of one extra episode played through the PettingZoo
shell. ``--record FILE`` writes the evaluation episodes' step records to a run store
(:mod:`quantmarl.io`). The last line printed is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import numpy as np

from quantmarl import runtime
from quantmarl.env.pettingzoo import parallel_env
from quantmarl.io import RunStore
from quantmarl.io.episodes import store_episodes
from quantmarl.rl import checkpoint
from quantmarl.rl.evaluate import compare_with_baselines, make_episodes, summarise
from quantmarl.rl.policy import act
from quantmarl.rl.rollout import stack_obs, unstack_actions
from quantmarl.rl.train import Trainer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m quantmarl.evaluate",
                                description="Evaluate trained policies from a checkpoint.")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory")
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of the evaluation episodes")
    p.add_argument("--seed-index", type=int, default=None,
                   help="which trained seed to evaluate (default 0; with --baseline: all)")
    p.add_argument("--policy", choices=("sample", "greedy"), default="sample")
    p.add_argument("--baseline", action="store_true",
                   help="compare with random, hold-only and scripted policies; verdict")
    p.add_argument("--render", choices=("ansi",), default=None,
                   help="print the market view after one episode")
    p.add_argument("--record", metavar="FILE", default=None,
                   help="write the evaluation episodes' step records to this run store "
                        "(SQLite)")
    return p.parse_args(argv)


def _table(stats: dict, label: str) -> str:
    lines = [f"{label}",
             "agent".ljust(22) + "".join(h.rjust(26) for h in
                                          ("PnL %", "Sharpe", "max DD %", "win rate"))]
    for agent, s in stats.items():
        cells = (_cell(s["pnl"], 100), _cell(s["sharpe"]), _cell(s["max_drawdown"], 100),
                 _cell(s["win_rate"]))
        lines.append(agent.ljust(22) + "".join(c.rjust(26) for c in cells))
    return "\n".join(lines)


def _comparison(result: dict, n_episodes: int, n_seeds: int) -> str:
    over = "seeds" if n_seeds >= 2 else "episodes"
    lines = []
    for g, entry in result.items():
        lines += [f"{g}: {n_episodes} episodes x {n_seeds} seed(s), 95% intervals over {over}",
                  "policy".ljust(12) + "PnL %".rjust(30) + "Sharpe".rjust(30)]
        for policy, row in entry["policies"].items():
            lines.append(policy.ljust(12) + _cell(row["pnl"], 100).rjust(30)
                         + _cell(row["sharpe"]).rjust(30))
        if entry["trained"]:
            lines.append(f"verdict: {g} is TRAINED (greedy beats random and hold on PnL and "
                         "Sharpe, non-overlapping 95% intervals)")
        else:
            lines.append(f"verdict: {g} is NOT trained: " + "; ".join(entry["reasons"]))
    return "\n".join(lines)


def _cell(e: dict, scale: float = 1.0) -> str:
    """``mean [low, high]`` of a ``{"mean", "ci95"}`` record, times ``scale``."""
    if e["mean"] is None:
        return "n/a"
    lo, hi = (x * scale if x is not None else float("nan") for x in e["ci95"])
    return f"{e['mean'] * scale:.3f} [{lo:.3f}, {hi:.3f}]"


def render_episode(trainer: Trainer, params: dict, seed: int) -> str:
    """Play one episode through the PettingZoo shell with the policies (sampled); the last
    ansi frame."""
    env = parallel_env(config=trainer.env.config, params=trainer.env_params,
                       render_mode="ansi")
    all_params = trainer.policy_params(params)
    mappo = trainer.config.algorithm == "mappo"

    @jax.jit
    def policy(key, obs, memory):  # one env: memory group -> [count, k]
        g_obs = stack_obs(trainer.env, obs)
        inputs = trainer.inputs(g_obs) if mappo else g_obs
        acts, memory = {}, dict(memory)
        for i, g in enumerate(g_obs):
            memory[g], logits, _ = trainer.step_fns[g](all_params[g], memory[g], inputs[g])
            acts[g] = act(jax.random.fold_in(key, i), logits, trainer.nvecs[g], greedy=False)
        return unstack_actions(trainer.env, acts), memory

    obs, _ = env.reset(seed=seed)
    key = jax.random.key(seed)
    memory = jax.tree.map(lambda m: m[0], trainer.initial_carry(1))  # zero: a new episode
    while env.agents:
        key, sub = jax.random.split(key)
        full = {a: obs.get(a, np.zeros(env.observation_space(a).shape, np.float32))
                for a in env.possible_agents}
        actions, memory = policy(sub, full, memory)
        actions = jax.device_get(actions)
        obs, *_ = env.step({a: np.asarray(actions[a]) for a in env.agents})
    return env.render()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.configure()  # before any computation
    if args.episodes < 2:
        print("error: --episodes must be >= 2 (intervals need two episodes)", file=sys.stderr)
        return 2
    try:
        config, trainer, runner = checkpoint.restore(args.checkpoint)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    index = 0 if args.seed_index is None else args.seed_index
    if not 0 <= index < config.seeds:
        print(f"error: --seed-index must be in [0, {config.seeds - 1}]", file=sys.stderr)
        return 2
    params = jax.tree.map(lambda x: x[index], runner.params)
    key = jax.random.key(args.seed)
    wealth, records = make_episodes(trainer, args.episodes, args.policy,
                                    records=True)(key, params)
    if args.record:
        with RunStore(args.record) as store:
            store_episodes(store, f"evaluate/{Path(args.checkpoint).name}/{args.policy}/"
                           f"s{index}", records, (("episode", list(range(args.episodes))),))
    result = {"checkpoint": args.checkpoint, "episodes": args.episodes,
              "seed_index": index, "policy": args.policy,
              "agents": summarise(wealth, trainer.env.agents)}
    print(_table(result["agents"], f"trained policies ({args.policy}), {args.episodes} episodes"))
    if args.baseline:
        seeds = range(config.seeds) if args.seed_index is None else [index]
        result["baselines"] = compare_with_baselines(trainer, runner.params, seeds,
                                                     args.episodes, key)
        print(_comparison(result["baselines"], args.episodes, len(seeds)))
    if args.render == "ansi":
        print(render_episode(trainer, params, args.seed))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

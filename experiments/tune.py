"""PPO hyper-parameter sweep per learner type: ``python -m experiments.tune``.

For each learner type and each candidate (:data:`CANDIDATES`: the base
:class:`~quantmarl.rl.TrainConfig`, then one change at a time: learning rate, entropy
coefficient, GAE lambda, rollout length at the same sample budget, network size, reward
normalisation, and the continuous double auction in place of the training market's
batch auction), ``--seeds`` seeds train in one vmapped, compiled call; then the greedy,
sampled, uniform-random, hold-only and scripted policies play the same held-out episodes
(:func:`quantmarl.rl.evaluate.compare_with_baselines`: common random numbers, so the
baselines' figures are the same for every candidate of one market and the candidates are
compared on the same episodes; ``cda`` changes the market, so its baselines are its own).

Score of a candidate: the greedy policy's mean Sharpe minus the better of the random and
hold-only policies' mean Sharpe (means over seeds); the verdict is the one
``quantmarl.evaluate --baseline`` prints (non-overlapping 95% intervals over seeds). A
candidate *beats base* when its greedy Sharpe interval lies wholly above the base
candidate's; the winner of a type (:func:`winner`) is the highest-scoring candidate that
beats base, else base itself: a default changes only on evidence, not on a noisy mean.

Results go, one JSON line per (type, candidate), to ``OUT/results.jsonl``; a rerun with
the same ``--out`` skips the pairs already there, so a long sweep can run in pieces.
``OUT/table.md`` is the table of every line (the one in ``docs/training.md``).

    python -m experiments.tune --quick                       # < 2 minutes: the pipeline
    python -m experiments.tune --out results/tune            # every type and candidate
    python -m experiments.tune --agent-type market_maker --candidates base ent=0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

from experiments.runner import make_out_dir
from quantmarl import runtime
from quantmarl.rl import PRESETS, TrainConfig, make_trainer
from quantmarl.rl.config import AGENT_TYPES
from quantmarl.rl.evaluate import compare_with_baselines
from quantmarl.rl.train import seed_keys

__all__ = ["CANDIDATES", "beats", "evaluate_candidate", "main", "score", "table", "winner"]

#: candidate name -> TrainConfig changes from the base (one change at a time; the
#: rollout-length candidates keep the number of samples, n_steps x iterations)
CANDIDATES: dict[str, dict] = {
    "base": {},
    "ent=0": {"ent_coef": 0.0},
    "lr=1e-3": {"lr": 1e-3},
    "norm-reward": {"normalize_reward": True},
    "lambda=0.8": {"gae_lambda": 0.8},
    "steps=128": {"n_steps": 128, "iterations_factor": 0.5},
    "hidden=128": {"hidden": (128, 128)},
    "lr=1e-4": {"lr": 1e-4},
    "steps=32": {"n_steps": 32, "iterations_factor": 2.0},
    "hidden=32": {"hidden": (32, 32)},
    "cda": {"market.clearing": "cda"},  # continuous double auction instead of batch auction
}

QUICK = {"preset": "smoke", "candidates": ("base", "ent=0"), "episodes": 4,
         "agent_types": ("momentum_trader",)}


def candidate_config(base: TrainConfig, changes: dict) -> TrainConfig:
    """``base`` with a candidate's changes (``iterations_factor`` scales the updates)."""
    changes = dict(changes)
    factor = changes.pop("iterations_factor", 1.0)
    data = {**base.to_dict(), **changes,
            "iterations": max(1, round(base.iterations * factor))}
    return TrainConfig.from_dict(data)


def score(policies: dict) -> float:
    """Greedy mean Sharpe minus the better of random's and hold's (one group's table)."""
    best = max(policies[b]["sharpe"]["mean"] for b in ("random", "hold"))
    return float(policies["greedy"]["sharpe"]["mean"] - best)


def evaluate_candidate(config: TrainConfig, n_episodes: int, key: jax.Array) -> dict:
    """Train ``config.seeds`` seeds (one vmapped call), compare with the baselines; one
    record per learner group plus timings."""
    trainer = make_trainer(config)
    t0 = time.perf_counter()
    out = jax.block_until_ready(jax.jit(jax.vmap(trainer.train))(seed_keys(config)))
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = compare_with_baselines(trainer, out.runner.params, range(config.seeds),
                                    n_episodes, key)
    eval_s = time.perf_counter() - t0
    groups = {}
    for g, entry in result.items():
        entropy = np.asarray(out.metrics[g]["entropy"])[:, -1]
        groups[g] = {"policies": entry["policies"], "trained": entry["trained"],
                     "reasons": entry["reasons"], "score": score(entry["policies"]),
                     "final_entropy": float(entropy.mean())}
    return {"groups": groups, "train_s": round(train_s, 1), "eval_s": round(eval_s, 1)}


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pct(e: dict) -> str:
    return "n/a" if e["mean"] is None else f"{100 * e['mean']:.3f}"


def _num(e: dict) -> str:
    return "n/a" if e["mean"] is None else f"{e['mean']:.3f}"


def beats(record: dict, base: dict) -> bool:
    """``record``'s greedy Sharpe interval lies wholly above ``base``'s."""
    lo = record["policies"]["greedy"]["sharpe"]["ci95"][0]
    hi = base["policies"]["greedy"]["sharpe"]["ci95"][1]
    return lo is not None and hi is not None and lo > hi


def winner(records: list[dict]) -> dict | None:
    """Of one type's records: the best-scoring one that beats ``base``, else ``base``
    (None without a base record)."""
    base = next((r for r in records if r["candidate"] == "base"), None)
    if base is None:
        return None
    better = [r for r in records if r is not base and beats(r, base)]
    return max(better, key=lambda r: r["score"]) if better else base


def _sharpe_cell(e: dict) -> str:
    lo, hi = e["ci95"]
    return _num(e) if lo is None else f"{_num(e)} [{lo:.3f}, {hi:.3f}]"


def table(records: list[dict]) -> str:
    """Markdown: one row per (type, candidate), the type's :func:`winner` in bold."""
    types = dict.fromkeys(r["agent_type"] for r in records)
    won = {t: winner([r for r in records if r["agent_type"] == t]) for t in types}
    lines = ["| learner type | candidate | greedy PnL % | greedy Sharpe [95%] | random Sharpe | "
             "hold Sharpe | score | verdict | entropy | train s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        p = r["policies"]
        name = f"**{r['candidate']}**" if won[r["agent_type"]] is r else r["candidate"]
        lines.append(
            f"| `{r['agent_type']}` | {name} | {_pct(p['greedy']['pnl'])} | "
            f"{_sharpe_cell(p['greedy']['sharpe'])} | {_num(p['random']['sharpe'])} | "
            f"{_num(p['hold']['sharpe'])} | {r['score']:.3f} | "
            f"{'trained' if r['trained'] else 'not trained'} | "
            f"{r['final_entropy']:.2f} | {r['train_s']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.tune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agent-type", nargs="+", choices=sorted(AGENT_TYPES), default=None,
                   help="learner types, each alone (default: all)")
    p.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=None)
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="base TrainConfig (default: the TrainConfig defaults)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per candidate (vmapped)")
    p.add_argument("--episodes", type=int, default=32, help="evaluation episodes per seed")
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    p.add_argument("--out", default=None, help="output directory (reruns resume into it)")
    p.add_argument("--quick", action="store_true",
                   help="smoke preset, 2 candidates, momentum_trader: checks the pipeline")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.configure()
    if args.quick:
        args.preset, args.episodes = QUICK["preset"], QUICK["episodes"]
        args.candidates = args.candidates or list(QUICK["candidates"])
        args.agent_type = args.agent_type or list(QUICK["agent_types"])
    if args.seeds < 2 or args.episodes < 2:
        print("error: --seeds and --episodes must be >= 2 (intervals)", file=sys.stderr)
        return 2
    types = args.agent_type or sorted(AGENT_TYPES)
    names = args.candidates or list(CANDIDATES)
    out = make_out_dir("tune", args.out)
    path = out / "results.jsonl"
    records = _read(path)
    done = {(r["agent_type"], r["candidate"]) for r in records}
    key = jax.random.key(args.seed + 1)  # evaluation episodes, shared by every candidate
    for agent_type in types:
        base = TrainConfig.from_dict(dict(PRESETS[args.preset]), agent_types=(agent_type,),
                                     seeds=args.seeds, seed=args.seed)
        for name in names:
            if (agent_type, name) in done:
                continue
            config = candidate_config(base, CANDIDATES[name])
            result = evaluate_candidate(config, args.episodes, key)
            entry = result["groups"][agent_type]
            record = {"agent_type": agent_type, "candidate": name,
                      "changes": {k: list(v) if isinstance(v, tuple) else v
                                  for k, v in CANDIDATES[name].items()},
                      "preset": args.preset, "seeds": args.seeds, "episodes": args.episodes,
                      **entry, "train_s": result["train_s"], "eval_s": result["eval_s"]}
            with path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            records.append(record)
            print(json.dumps({"name": f"tune/{agent_type}/{name}", "value": record["score"],
                              "unit": "sharpe_margin", "trained": record["trained"],
                              "train_s": record["train_s"]}), flush=True)
    (out / "table.md").write_text(table(records) + "\n")
    print(table(records))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

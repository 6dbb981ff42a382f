"""Do the learners learn? Each learner type's default training against its baselines:
``python -m experiments.learners``.

For each learner type, alone in the training market with the default
:class:`~quantmarl.rl.TrainConfig` (or ``--preset``), ``--seeds`` seeds train in one
vmapped, compiled call; then the greedy and sampled policies, a uniform-random policy, a
hold-only policy and the type's scripted rule play the same ``--episodes`` held-out
episodes per seed (:func:`quantmarl.rl.evaluate.compare_with_baselines`). Reported: PnL
and Sharpe with 95% intervals over seeds, and the verdict of :mod:`quantmarl.rl.compare`
(trained: greedy above random and hold-only on both, non-overlapping intervals).

Output: one JSON line per (type, policy, metric) (``{"name", "value", "unit", "ci95"}``)
and per type (its verdict), then the markdown table, also written to ``OUT/learners.md``
with every figure in ``OUT/learners.json``. The README's table is this output.

    python -m experiments.learners --quick          # smoke preset, one type: the pipeline
    python -m experiments.learners                  # every type, 4 seeds (~20 min, 2 cores)
"""

from __future__ import annotations

import argparse
import json
import sys

import jax

from experiments.runner import make_out_dir
from experiments.tune import evaluate_candidate
from quantmarl import runtime
from quantmarl.rl import PRESETS, TrainConfig
from quantmarl.rl.config import AGENT_TYPES
from quantmarl.rl.evaluate import POLICIES

__all__ = ["main", "markdown", "run_type"]

SCRIPTED = {"momentum_trader": "momentum rule", "market_maker": "symmetric quoter",
            "arbitrageur": "index rule", "trader": "momentum rule on returns"}


def run_type(agent_type: str, preset: str, seeds: int, episodes: int, seed: int) -> dict:
    """Train ``agent_type`` alone (``preset``, ``seeds`` seeds) and compare with the
    baselines: ``{"agent_type", "policies", "trained", "reasons", "final_entropy",
    "train_s", ...}``."""
    config = TrainConfig.from_dict(dict(PRESETS[preset]), agent_types=(agent_type,),
                                   seeds=seeds, seed=seed)
    result = evaluate_candidate(config, episodes, jax.random.key(seed + 1))
    return {"agent_type": agent_type, "preset": preset, "seeds": seeds, "episodes": episodes,
            **result["groups"][agent_type], "train_s": result["train_s"],
            "eval_s": result["eval_s"]}


def _cell(e: dict, scale: float = 1.0) -> str:
    if e["mean"] is None:
        return "n/a"
    lo, hi = e["ci95"]
    if lo is None:
        return f"{e['mean'] * scale:.3f}"
    return f"{e['mean'] * scale:.3f} [{lo * scale:.3f}, {hi * scale:.3f}]"


def markdown(results: list[dict]) -> str:
    """The table: one row per (type, policy), then one verdict line per type."""
    lines = ["| learner type | policy | PnL % | Sharpe |", "| --- | --- | --- | --- |"]
    for r in results:
        for i, policy in enumerate(POLICIES):
            row = r["policies"][policy]
            name = (f"scripted ({SCRIPTED.get(r['agent_type'], 'rule')})"
                    if policy == "scripted" else policy)
            lines.append(f"| {'`' + r['agent_type'] + '`' if i == 0 else ''} | {name} | "
                         f"{_cell(row['pnl'], 100)} | {_cell(row['sharpe'])} |")
    lines.append("")
    for r in results:
        verdict = ("**trained**" if r["trained"] else
                   "**not trained** (" + "; ".join(r["reasons"]) + ")")
        lines.append(f"- `{r['agent_type']}`: {verdict}; final policy entropy "
                     f"{r['final_entropy']:.2f}; training {r['train_s']:.0f} s "
                     f"({r['seeds']} seeds, compile included).")
    return "\n".join(lines)


def _json_lines(r: dict) -> list[str]:
    out = []
    for policy, row in r["policies"].items():
        for metric, unit in (("pnl", "fraction_of_wealth"), ("sharpe", "sharpe_per_episode")):
            e = row[metric]
            out.append(json.dumps({"name": f"learners/{r['agent_type']}/{policy}/{metric}",
                                   "value": e["mean"], "unit": unit, "ci95": e["ci95"]}))
    out.append(json.dumps({"name": f"learners/{r['agent_type']}/trained",
                           "value": int(r["trained"]), "unit": "bool"}))
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.learners", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agent-type", nargs="+", choices=sorted(AGENT_TYPES), default=None,
                   help="learner types, each alone (default: all)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default")
    p.add_argument("--seeds", type=int, default=4, help="seeds per type (vmapped)")
    p.add_argument("--episodes", type=int, default=32, help="evaluation episodes per seed")
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    p.add_argument("--out", default=None, help="output directory")
    p.add_argument("--quick", action="store_true",
                   help="smoke preset, momentum_trader, 4 episodes: checks the pipeline")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.configure()
    if args.quick:
        args.preset, args.episodes = "smoke", 4
        args.agent_type = args.agent_type or ["momentum_trader"]
    if args.seeds < 2 or args.episodes < 2:
        print("error: --seeds and --episodes must be >= 2 (intervals)", file=sys.stderr)
        return 2
    out = make_out_dir("learners", args.out)
    results = []
    for agent_type in args.agent_type or sorted(AGENT_TYPES):
        r = run_type(agent_type, args.preset, args.seeds, args.episodes, args.seed)
        results.append(r)
        for line in _json_lines(r):
            print(line, flush=True)
    text = markdown(results)
    (out / "learners.md").write_text(text + "\n")
    (out / "learners.json").write_text(json.dumps(results, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

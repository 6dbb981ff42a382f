"""The arms of the experiments' paired design, summarised for reports.

Every experiment plays each evaluation episode with the arms of
:data:`experiments.evaluation.ARMS` in the learner slots, on the same random numbers.
This module turns their outputs into what a report states before any hypothesis: the
learners' training verdict on these very episodes (greedy against random and hold-only,
:func:`quantmarl.rl.compare.compare`) and per-arm tables of a metric with 95% t
intervals over seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from experiments.evaluation import ARM_LABELS
from quantmarl.quant.intervals import mean_record
from quantmarl.rl.compare import compare

__all__ = ["arm_table", "training_verdict", "verdict_text"]


def training_verdict(wealth, arms: Sequence[str], n_learners: int) -> dict:
    """:func:`~quantmarl.rl.compare.compare` of the arms' learner-slot wealth paths
    ``[P, S, E, T + 1, n]`` (every arm that holds a policy; needs greedy, random, hold)."""
    paths = {a: np.asarray(wealth[i]) for i, a in enumerate(arms)}
    return compare(paths, {"learners": list(range(n_learners))})["learners"]


def _cell(rec: Mapping, scale: float = 1.0, digits: int = 3) -> str:
    lo, hi = rec["ci95"]
    if rec["mean"] is None:
        return "n/a"
    mean = f"{scale * rec['mean']:.{digits}f}"
    return mean if lo is None else f"{mean} [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"


def verdict_text(result: Mapping, agent_type: str, where: str = "") -> str:
    """Markdown: the learners' PnL and Sharpe per arm and the verdict, on the report's
    own evaluation episodes (``where`` names them, e.g. "of the crash scenario")."""
    rows = ["| arm | PnL % of wealth [95% CI] | Sharpe per episode [95% CI] |",
            "| --- | --- | --- |"]
    for arm, rec in result["policies"].items():
        rows.append(f"| {ARM_LABELS.get(arm, arm)} | {_cell(rec['pnl'], 100.0)} | "
                    f"{_cell(rec['sharpe'])} |")
    verdict = ("**trained**: the greedy policy beats random and hold-only on PnL and "
               "Sharpe with non-overlapping 95% intervals" if result["trained"] else
               "**not trained** (" + "; ".join(result["reasons"]) + "): what the learner "
               "arms show is the behaviour of policies that did not beat the baselines")
    episodes = f"the evaluation episodes {where}".rstrip()
    return (f"Training verdict for `{agent_type}` on {episodes}: {verdict}.\n\n"
            + "\n".join(rows))


def arm_table(metrics: Mapping[str, Mapping[str, np.ndarray]], digits: int = 4) -> str:
    """Markdown: one row per metric, one column per arm; each cell the mean over the
    seeds where it is finite with its 95% t interval. ``metrics``: metric label ->
    arm -> per-seed values [S]."""
    arms = list(dict.fromkeys(a for per_arm in metrics.values() for a in per_arm))
    head = "| metric | " + " | ".join(ARM_LABELS.get(a, a) for a in arms) + " |"
    rows = [head, "| --- |" + " --- |" * len(arms)]
    for label, per_arm in metrics.items():
        cells = []
        for a in arms:
            x = np.asarray(per_arm.get(a, []), np.float64)
            x = x[np.isfinite(x)]
            cells.append(_cell(mean_record(x), digits=digits) if x.size else "n/a")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)

"""Trained policies against baselines: per learner group, PnL and Sharpe with 95% intervals,
and the verdict whether the group counts as trained.

Inputs are marked-wealth paths (wealth / initial wealth) from
:func:`quantmarl.rl.evaluate.make_episodes`, ``[S, E, T + 1, n_agents]`` per policy: ``S``
trained seeds, each played on the same ``E`` episode keys by every policy (common random
numbers). Per episode, a group's PnL is the mean over its learners of final wealth - 1, its
Sharpe the mean over its learners of ``mean / std`` of per-step wealth returns times
``sqrt(T)`` (0 for a flat path). The interval is a t interval of the mean over seeds
(each seed's mean over its episodes) when ``S >= 2``, else over the ``E`` episodes.

A group counts as **trained** when its greedy policy beats both the uniform-random and the
hold-only policy on PnL and on Sharpe with non-overlapping intervals (the greedy
interval's low end above the baseline's high end).
"""

from __future__ import annotations

import math

import numpy as np

from quantmarl.quant.intervals import mean_record

METRICS = ("pnl", "sharpe")
VERDICT_BASELINES = ("random", "hold")


def episode_metrics(wealth, columns: list[int]) -> dict[str, np.ndarray]:
    """``{"pnl", "sharpe"}`` float64 ``[S, E]`` of the learners in ``columns`` (their mean)
    from ``wealth`` ``[S, E, T + 1, n_agents]``."""
    w = np.maximum(np.asarray(wealth, np.float64)[..., columns], 1e-12)  # [S, E, T+1, k]
    pnl = w[:, :, -1] - 1.0
    r = w[:, :, 1:] / w[:, :, :-1] - 1.0
    sd = r.std(axis=2, ddof=1) if r.shape[2] > 1 else np.zeros_like(pnl)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(sd > 0, r.mean(axis=2) / sd * math.sqrt(r.shape[2]), 0.0)
    return {"pnl": pnl.mean(axis=-1), "sharpe": sharpe.mean(axis=-1)}


def interval(values: np.ndarray) -> dict:
    """``{"mean", "ci95", "n", "over"}`` of ``values`` ``[S, E]`` (see the module doc)."""
    units, over = (values.mean(axis=1), "seeds") if values.shape[0] >= 2 else (values[0],
                                                                                "episodes")
    return {**mean_record(units), "n": int(units.size), "over": over}


def compare(wealth_by_policy: dict[str, np.ndarray],
            groups: dict[str, list[int]]) -> dict[str, dict]:
    """Per group: each policy's PnL and Sharpe intervals (``"policies"``) and the verdict
    (``"trained"`` bool, ``"reasons"``: every comparison that failed)."""
    out = {}
    for g, columns in groups.items():
        table = {}
        for policy, wealth in wealth_by_policy.items():
            metrics = episode_metrics(wealth, columns)
            table[policy] = {k: interval(v) for k, v in metrics.items()}
        out[g] = {"policies": table, **verdict(table)}
    return out


def verdict(table: dict[str, dict]) -> dict:
    """``{"trained", "reasons"}`` from one group's per-policy intervals (needs ``greedy``,
    ``random`` and ``hold``)."""
    reasons = []
    for base in VERDICT_BASELINES:
        for metric in METRICS:
            lo = table["greedy"][metric]["ci95"][0]
            hi = table[base][metric]["ci95"][1]
            if lo is None or hi is None or not lo > hi:
                reasons.append(f"greedy {metric} interval does not lie above {base}'s "
                               f"({_fmt(lo)} vs {_fmt(hi)})")
    return {"trained": not reasons, "reasons": reasons}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"

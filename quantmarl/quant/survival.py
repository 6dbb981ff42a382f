"""Censored times as survival data: Kaplan-Meier, restricted mean survival time (RMST)
and a seed-paired RMST test.

A recovery or resilience time is *censored* when the episode ends before the event
(the market has not recovered yet): the true time is only known to exceed the
observed one. Averaging such times with the episode length put in their place biases
the mean toward the horizon; the Kaplan-Meier estimator uses them correctly, and the
RMST up to a horizon ``tau`` (the area under the survival curve, "expected time to
recovery, counting at most ``tau``") is a mean that censoring at or after ``tau``
leaves unbiased. Host-side numpy: one time per seed.

Inputs: ``durations`` [n] (steps, >= 0) and ``observed`` [n] (bool: True where the
event happened at that time, False where the time is censored).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from quantmarl.quant.paired import PairedTest, paired_permutation_test

__all__ = ["KaplanMeier", "censored_share", "kaplan_meier", "rmst", "rmst_paired_test",
           "survival_at"]


class KaplanMeier(NamedTuple):
    """Kaplan-Meier estimate; arrays are [k], one entry per distinct event time."""

    time: np.ndarray  # event times, ascending (duration units)
    survival: np.ndarray  # S(t) just after each time
    std_err: np.ndarray  # Greenwood standard error of S(t)
    at_risk: np.ndarray  # subjects at risk just before each time
    events: np.ndarray  # events at each time
    n: int  # subjects
    n_censored: int  # subjects whose time is censored


def _check(durations, observed) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(durations, np.float64)
    e = np.asarray(observed)
    if t.ndim != 1 or e.shape != t.shape:
        raise ValueError(f"durations and observed must be 1-D of equal length, got "
                         f"{t.shape} and {e.shape}")
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations must be finite, >= 0 and not empty")
    return t, e.astype(bool)


def kaplan_meier(durations, observed) -> KaplanMeier:
    """Product-limit estimate ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` with Greenwood's
    variance ``S^2 sum d_j / (n_j (n_j - d_j))`` (as ``statsmodels``' ``SurvfuncRight``).
    Subjects censored at ``t_j`` count as at risk at ``t_j``."""
    t, e = _check(durations, observed)
    times = np.unique(t[e])
    at_risk = np.array([np.sum(t >= s) for s in times], np.float64)
    events = np.array([np.sum((t == s) & e) for s in times], np.float64)
    surv = np.cumprod(1 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):  # S = 0 at the end: SE NaN
        green = np.cumsum(events / (at_risk * (at_risk - events)))
        se = np.sqrt(surv**2 * green)
    return KaplanMeier(times, surv, se, at_risk, events, int(t.size), int(np.sum(~e)))


def survival_at(km: KaplanMeier, t: float) -> float:
    """``S(t)`` of a Kaplan-Meier estimate (right-continuous step function)."""
    i = np.searchsorted(km.time, t, side="right")
    return 1.0 if i == 0 else float(km.survival[i - 1])


def _rmst_batch(durations: np.ndarray, observed: np.ndarray, tau: float) -> np.ndarray:
    """RMST of each row: [B, n] twice -> [B]. Sorting events before censorings at equal
    times makes the per-subject product equal the tied product ``1 - d_j / n_j``."""
    order = np.lexsort((~observed.astype(bool), durations), axis=-1)
    t = np.take_along_axis(durations, order, -1)
    e = np.take_along_axis(observed.astype(bool), order, -1)
    n = t.shape[-1]
    factor = np.where(e, 1 - 1 / (n - np.arange(n)), 1.0)
    surv = np.concatenate([np.ones(t.shape[:-1] + (1,)), np.cumprod(factor, -1)], -1)
    edges = np.concatenate([np.zeros(t.shape[:-1] + (1,)), np.minimum(t, tau),
                            np.full(t.shape[:-1] + (1,), tau)], -1)
    return np.sum(surv * np.diff(edges, axis=-1), axis=-1)


def rmst(durations, observed, tau: float) -> float:
    """Restricted mean survival time: the area under the Kaplan-Meier curve on
    ``[0, tau]`` (duration units). Choose ``tau`` no later than the last follow-up
    (the episode end when every censoring happens there)."""
    t, e = _check(durations, observed)
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return float(_rmst_batch(t[None], e[None], float(tau))[0])


def censored_share(observed) -> float:
    """Share of subjects whose time is censored (not observed)."""
    e = np.asarray(observed, bool)
    return float(np.mean(~e))


def rmst_paired_test(durations_a, observed_a, durations_b, observed_b, tau: float,
                     alternative: str = "two-sided", n_resamples: int = 9999,
                     seed: int = 0) -> tuple[PairedTest, float, float]:
    """Seed-paired test of ``RMST_a - RMST_b`` (swap the arms within seed pairs).

    Returns ``(test, rmst_a, rmst_b)``; ``test.statistic`` is the RMST difference in
    duration units. Censored times stay censored under every swap.
    """
    ta, ea = _check(durations_a, observed_a)
    tb, eb = _check(durations_b, observed_b)
    if ta.shape != tb.shape:
        raise ValueError(f"paired arms need equal lengths, got {ta.size} and {tb.size}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")

    def diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (_rmst_batch(a[..., 0], a[..., 1] > 0.5, tau)
                - _rmst_batch(b[..., 0], b[..., 1] > 0.5, tau))

    a, b = np.stack([ta, ea], -1), np.stack([tb, eb], -1)
    test = paired_permutation_test(a, b, diff, alternative, n_resamples, seed)
    return test, rmst(ta, ea, tau), rmst(tb, eb, tau)

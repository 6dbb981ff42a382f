"""Seed-paired comparisons: sign-flip permutation tests and arm-level effect sizes.

An experiment runs its arms on the same seeds (common random numbers), so arm A's
seed i and arm B's seed i form a pair. Under H0 (the arm label does not matter) the
two members of a pair are exchangeable, so swapping them leaves the joint law
unchanged: the null distribution of any statistic comes from swapping pairs, all
``2**n`` patterns when that is at most ``n_resamples + 1``, else ``n_resamples``
random ones. Conventions match ``scipy.stats.permutation_test(...,
permutation_type="samples")``. Host-side numpy: the inputs are one value (or one
record) per seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from quantmarl._validate import check_choice

__all__ = ["PairedTest", "cohens_d_av", "paired_permutation_test", "sign_flip_test",
           "swap_patterns"]

ALTERNATIVES = ("two-sided", "less", "greater")


class PairedTest(NamedTuple):
    """A paired permutation test. ``p_floor`` is the smallest p-value the test can
    return for this ``n`` and alternative; ``at_floor`` says p sits on it (a report
    should then print "p <= floor", not the value as if it were precise)."""

    statistic: float  # observed statistic (units of the statistic, e.g. mean a - b)
    pvalue: float
    p_floor: float
    at_floor: bool
    exact: bool  # all 2**n swap patterns enumerated
    n_resamples: int  # patterns used (2**n when exact)


def swap_patterns(n: int, n_resamples: int, seed: int) -> tuple[np.ndarray, bool]:
    """Bool [B, n] swap masks (True: pair i's members change arms) and whether they are
    all ``2**n`` patterns (exact, identity included) or ``n_resamples`` random ones."""
    if n < 1:
        raise ValueError(f"need at least one pair, got n={n}")
    if 2**n <= n_resamples + 1:
        codes = np.arange(2**n)[:, None]
        return (codes >> np.arange(n)[None, :]) & 1 == 1, True
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (n_resamples, n)).astype(bool), False


def _pvalue(null: np.ndarray, obs: float, alternative: str, exact: bool) -> float:
    gamma = abs(100 * np.finfo(np.float64).eps * obs)
    adjust = 0 if exact else 1
    size = null.size + adjust
    p_less = (np.sum(null <= obs + gamma) + adjust) / size
    p_greater = (np.sum(null >= obs - gamma) + adjust) / size
    p = {"less": p_less, "greater": p_greater,
         "two-sided": 2 * min(p_less, p_greater)}[alternative]
    return float(min(p, 1.0))


def _floor(n_null: int, alternative: str, exact: bool) -> float:
    one = 1 / n_null if exact else 1 / (n_null + 1)
    return min(1.0, 2 * one) if alternative == "two-sided" else one


def paired_permutation_test(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    seed: int = 0,
) -> PairedTest:
    """Permutation test of ``statistic(a, b)`` by swapping seed pairs.

    ``a``, ``b``: [n, ...] (pair i is ``a[i]``, ``b[i]``; trailing axes hold a record,
    e.g. ``(duration, observed)``). ``statistic`` is vectorised: [B, n, ...] twice ->
    [B]. ``alternative`` is H1 for the statistic (``"greater"``: larger under A).
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes, got {a.shape} and {b.shape}")
    swap, exact = swap_patterns(a.shape[0], n_resamples, seed)
    mask = swap.reshape(swap.shape + (1,) * (a.ndim - 1))
    obs = float(statistic(a[None], b[None])[0])
    null = np.asarray(statistic(np.where(mask, b, a), np.where(mask, a, b)), np.float64)
    p = _pvalue(null, obs, alternative, exact)
    floor = _floor(null.size, alternative, exact)
    return PairedTest(obs, p, floor, bool(p <= floor * (1 + 1e-12)), exact, int(null.size))


def _mean_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mean(a - b, axis=1)


def sign_flip_test(a, b, alternative: str = "two-sided", n_resamples: int = 9999,
                   seed: int = 0) -> PairedTest:
    """Sign-flip permutation test of the mean paired difference ``mean(a - b)``.

    ``a``, ``b``: [n] per-seed values. Tests the estimand an experiment reports (a
    mean paired difference) without assuming normal differences.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 1:
        raise ValueError(f"a and b must be 1-D (one value per seed), got shape {a.shape}")
    return paired_permutation_test(a, b, _mean_difference, alternative, n_resamples, seed)


def cohens_d_av(a, b) -> float | None:
    """Cohen's d of paired arms on the arm-level spread: ``mean(a - b) /
    sqrt((var(a) + var(b)) / 2)`` (ddof=1; Cumming's d_av). None when neither arm varies.

    Unlike ``d_z = mean(d) / sd(d)``, which common random numbers inflate (they shrink
    sd(d)), d_av is comparable with effects from unpaired designs.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    sd = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float(np.mean(a - b) / sd) if sd > 0 else None

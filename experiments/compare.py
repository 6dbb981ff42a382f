"""Across-seed hypothesis tests for experiment reports, as :class:`Finding` records.

Each comparison returns a :class:`Finding`: the effect size (a difference of
means, in the metric's units), its 95% confidence interval, a p-value from a
named test, a standardised effect (Cohen's d), and a verdict at ``alpha``. The
tests, effect sizes, intervals and the Holm correction are
:mod:`quantmarl.quant`'s (:mod:`~quantmarl.quant.stats`,
:mod:`~quantmarl.quant.signed_rank`, :mod:`~quantmarl.quant.intervals`); this
module decides which to run, handles degenerate samples (no variation: the
difference is known exactly) and words the result. Bootstrap replicates are
drawn with a numpy generator with a fixed seed, so the same inputs always give
the same report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quantmarl._validate import check_choice, check_float
from quantmarl.quant import intervals, stats
from quantmarl.quant.paired import cohens_d_av, sign_flip_test
from quantmarl.quant.signed_rank import wilcoxon_signed_rank

__all__ = [
    "ALTERNATIVES",
    "Finding",
    "holm_adjust",
    "paired_comparison",
    "paired_finding",
    "two_sample_comparison",
    "verdict",
]

ALTERNATIVES = ("two-sided", "less", "greater")
#: paired tests: name -> label in reports
PAIRED_TESTS = {"sign-flip": "sign-flip permutation (paired mean)", "t": "paired t-test",
                "wilcoxon": "wilcoxon signed-rank (paired)"}
REJECT, KEEP = "reject H0", "fail to reject H0"
CONFIDENCE = 0.95
N_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Finding:
    """One tested hypothesis, summarised across seeds.

    ``effect_size`` is ``mean(a - b)`` (paired) or ``mean(a) - mean(b)``
    (unpaired), in the metric's units; ``[ci_low, ci_high]`` is its 95% CI.
    ``cohens_d`` is the standardised effect on the arms' own spread (paired:
    ``d_av = mean(d) / sqrt((var(a) + var(b)) / 2)``; unpaired: pooled-sd d), ``d_z``
    the paired ``mean(d) / sd(d)`` (common random numbers shrink ``sd(d)``, so d_z
    overstates the effect against the arms' spread); ``None`` where the spread is
    zero. ``p_floor`` is the smallest p the test can give (permutation tests); when
    ``at_floor`` the report prints "p <= floor". ``verdict`` is decided on
    ``p_adjusted`` when a multiple-testing correction was applied, else on ``p_value``.
    """

    hypothesis: str  # H1 in words, e.g. "herding is higher under a flash crash"
    metric: str  # name of the per-seed metric compared
    effect_size: float  # mean difference a - b (metric units)
    ci_low: float  # 95% CI of effect_size
    ci_high: float
    p_value: float
    test: str  # e.g. "wilcoxon signed-rank (paired)"
    n_seeds: int  # seeds (pairs when paired; size of sample a otherwise)
    alpha: float
    verdict: str  # "reject H0" | "fail to reject H0"
    alternative: str = "two-sided"  # H1 direction for a - b: two-sided | less | greater
    ci_method: str = "bootstrap"  # "bootstrap" (percentile) | "t"
    statistic: float | None = None  # the test statistic (W, t or U)
    cohens_d: float | None = None
    mean_a: float | None = None
    mean_b: float | None = None
    n_b: int | None = None  # size of sample b (unpaired tests only)
    p_adjusted: float | None = None
    correction: str | None = None  # e.g. "holm (4 tests)"
    note: str = ""  # degenerate input, warnings met, ...
    d_z: float | None = None  # paired: mean(d) / sd(d)
    p_floor: float | None = None  # smallest p the test can return (permutation tests)
    at_floor: bool = False  # p_value sits on p_floor
    p_wilcoxon: float | None = None  # paired robustness check: Wilcoxon signed-rank p

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return dataclasses.asdict(self)


def verdict(p: float, alpha: float) -> str:
    """``"reject H0"`` when ``p < alpha``, else ``"fail to reject H0"``."""
    return REJECT if p < alpha else KEEP


def _sample(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per seed), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 values (seeds), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values: {arr.tolist()}")
    return arr


def _check(alternative: str, alpha: float) -> None:
    check_choice("alternative", alternative, ALTERNATIVES)
    check_float("alpha", alpha, 0.0, 1.0, lo_open=True, hi_open=True)


def _degenerate_p(effect: float, alternative: str) -> float:
    """p-value when neither sample varies: the difference is known exactly."""
    if effect == 0.0:
        return 1.0
    if alternative == "two-sided":
        return 0.0
    return 0.0 if (effect > 0) == (alternative == "greater") else 1.0


def _bootstrap(resample_means, seed: int, n_resamples: int) -> tuple[float, float]:
    """Percentile interval of ``resample_means(rng, size)`` replicates, drawn in chunks."""
    rng = np.random.default_rng(seed)
    reps = [resample_means(rng, min(2000, n_resamples - i)) for i in range(0, n_resamples, 2000)]
    return intervals.percentile_interval(np.concatenate(reps), CONFIDENCE)


def paired_comparison(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    hypothesis: str,
    metric: str,
    alternative: str = "two-sided",
    test: str = "wilcoxon",
    alpha: float = 0.05,
    ci: str | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Finding:
    """Compare per-seed paired samples ``a`` [n] and ``b`` [n] (seed i of a with seed i of b).

    ``test``: ``"sign-flip"`` (permutation test of the mean difference, the estimand;
    :func:`quantmarl.quant.paired.sign_flip_test`), ``"t"``
    (``scipy.stats.ttest_rel``) or ``"wilcoxon"`` (``scipy.stats.wilcoxon`` on
    ``a - b``; it tests a pseudo-median, not the mean). ``alternative`` is H1 for
    ``a - b`` (``"greater"``: a exceeds b). ``ci``: ``"bootstrap"`` (percentile, numpy
    RNG with ``seed``; default for wilcoxon) or ``"t"`` (default otherwise). The
    Wilcoxon p-value is always reported too (``p_wilcoxon``), as a robustness check.
    All differences zero -> p = 1, CI [0, 0].
    """
    _check(alternative, alpha)
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {PAIRED_TESTS}, got {test!r}")
    ci = ci or ("bootstrap" if test == "wilcoxon" else "t")
    if ci not in ("bootstrap", "t"):
        raise ValueError(f"ci must be 'bootstrap' or 't', got {ci!r}")
    a, b = _sample(a, f"{metric} (a)"), _sample(b, f"{metric} (b)")
    if a.shape != b.shape:
        raise ValueError(f"{metric}: paired samples need equal lengths, got {a.size} and {b.size}")
    d = a - b
    n = d.size
    effect = float(d.mean())
    sd = float(d.std(ddof=1))
    name = PAIRED_TESTS[test]
    note, stat, floor, at_floor = "", None, None, False
    p_w = None if effect == 0.0 and sd == 0.0 else float(
        wilcoxon_signed_rank(a, b, alternative=alternative).pvalue)
    if sd == 0.0 and (effect == 0.0 or test == "t"):
        p = _degenerate_p(effect, alternative)
        note = "all differences zero" if effect == 0.0 else "constant nonzero difference"
        stat = 0.0 if effect == 0.0 else None
    elif test == "sign-flip":
        res = sign_flip_test(a, b, alternative, n_resamples, seed)
        p, stat, floor, at_floor = res.pvalue, res.statistic, res.p_floor, res.at_floor
        name += " (exact)" if res.exact else f" ({res.n_resamples} random patterns)"
    else:
        run = wilcoxon_signed_rank if test == "wilcoxon" else stats.paired_ttest
        res = run(a, b, alternative=alternative)
        p, stat = float(res.pvalue), float(res.statistic)
    if ci == "t":
        lo, hi = intervals.t_interval(effect, sd / math.sqrt(n), n - 1, CONFIDENCE)
    elif sd == 0.0:
        lo = hi = effect
    else:
        lo, hi = _bootstrap(lambda rng, m: d[rng.integers(0, n, (m, n))].mean(axis=1),
                            seed, n_resamples)
    return Finding(
        hypothesis=hypothesis, metric=metric, effect_size=effect, ci_low=lo, ci_high=hi,
        p_value=p, test=name, n_seeds=n, alpha=alpha, verdict=verdict(p, alpha),
        alternative=alternative, ci_method=ci,
        statistic=intervals.finite_or_none(stat) if stat is not None else None,
        cohens_d=cohens_d_av(a, b), d_z=effect / sd if sd > 0 else None,
        mean_a=float(a.mean()), mean_b=float(b.mean()), note=note, p_floor=floor,
        at_floor=at_floor, p_wilcoxon=p_w,
    )


def two_sample_comparison(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    hypothesis: str,
    metric: str,
    alternative: str = "two-sided",
    test: str = "welch",
    alpha: float = 0.05,
    ci: str | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Finding:
    """Compare independent samples ``a`` [n1] and ``b`` [n2] (e.g. different seeds per arm).

    ``test``: ``"welch"`` (``scipy.stats.ttest_ind(equal_var=False)``) or
    ``"mannwhitney"`` (``scipy.stats.mannwhitneyu``). Effect: ``mean(a) - mean(b)``;
    CI: ``"t"`` (Welch; default for welch) or ``"bootstrap"`` (each sample
    resampled independently; default for Mann-Whitney). Cohen's d uses the pooled sd.
    """
    _check(alternative, alpha)
    if test not in ("welch", "mannwhitney"):
        raise ValueError(f"test must be 'welch' or 'mannwhitney', got {test!r}")
    ci = ci or ("t" if test == "welch" else "bootstrap")
    if ci not in ("bootstrap", "t"):
        raise ValueError(f"ci must be 'bootstrap' or 't', got {ci!r}")
    a, b = _sample(a, f"{metric} (a)"), _sample(b, f"{metric} (b)")
    na, nb = a.size, b.size
    effect = float(a.mean() - b.mean())
    va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
    name = "welch t-test" if test == "welch" else "mann-whitney U"
    note, stat = "", None
    if va == 0.0 and vb == 0.0:
        p = _degenerate_p(effect, alternative)
        note = "no variation in either sample"
    else:
        res = (stats.welch_ttest(a, b, alternative=alternative) if test == "welch" else
               stats.mann_whitney_u(a, b, alternative=alternative, method="auto"))
        p, stat = float(res.pvalue), float(res.statistic)
    if ci == "t":
        se2 = va / na + vb / nb
        df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1)) if se2 > 0 else 1
        lo, hi = intervals.t_interval(effect, math.sqrt(se2), df, CONFIDENCE)
    elif va == 0.0 and vb == 0.0:
        lo = hi = effect
    else:
        lo, hi = _bootstrap(
            lambda rng, m: a[rng.integers(0, na, (m, na))].mean(axis=1)
            - b[rng.integers(0, nb, (m, nb))].mean(axis=1), seed, n_resamples)
    pooled = float(stats.cohens_d(a, b))
    return Finding(
        hypothesis=hypothesis, metric=metric, effect_size=effect, ci_low=lo, ci_high=hi,
        p_value=p, test=name, n_seeds=na, alpha=alpha, verdict=verdict(p, alpha),
        alternative=alternative, ci_method=ci,
        statistic=intervals.finite_or_none(stat) if stat is not None else None,
        cohens_d=pooled if math.isfinite(pooled) else None, mean_a=float(a.mean()),
        mean_b=float(b.mean()), n_b=nb, note=note,
    )


def holm_adjust(findings: Sequence[Finding], alpha: float | None = None) -> list[Finding]:
    """Holm step-down correction over ``findings`` (same order back).

    Sets ``p_adjusted`` and ``correction`` and re-decides each ``verdict`` on
    the adjusted p-value at ``alpha`` (default: each finding's own alpha).
    """
    m = len(findings)
    if m == 0:
        return []
    _, adj = stats.holm(np.array([f.p_value for f in findings], np.float64))
    adj = np.asarray(adj, np.float64)
    out = []
    for f, pa in zip(findings, adj, strict=True):
        a = f.alpha if alpha is None else alpha
        out.append(dataclasses.replace(f, p_adjusted=float(pa), correction=f"holm ({m} tests)",
                                       alpha=a, verdict=verdict(float(pa), a)))
    return out


def paired_finding(a, b, hypothesis: str, metric: str, alternative: str = "two-sided",
                   alpha: float = 0.05, test: str = "sign-flip") -> Finding:
    """:func:`paired_comparison` (default: the sign-flip test of the mean difference,
    t interval; Wilcoxon p beside it) on the seeds where both ``a``
    [S] and ``b`` [S] are finite; dropped seeds are named in ``note`` and excluded from
    ``n_seeds``. Fewer than 2 usable seeds: a finding with effect 0, CI [0, 0], p = 1
    and a note saying the test could not be run."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    dropped = np.flatnonzero(~ok).tolist()
    note = (f"dropped {len(dropped)} seed(s) with a non-finite metric: {dropped}"
            if dropped else "")
    if ok.sum() < 2:
        return Finding(hypothesis=hypothesis, metric=metric, effect_size=0.0, ci_low=0.0,
                       ci_high=0.0, p_value=1.0, test="not run (fewer than 2 usable seeds)",
                       n_seeds=int(ok.sum()), alpha=alpha, verdict=verdict(1.0, alpha),
                       alternative=alternative, note=note or "fewer than 2 seeds")
    f = paired_comparison(a[ok], b[ok], hypothesis, metric, alternative=alternative,
                          alpha=alpha, test=test)
    return dataclasses.replace(f, note="; ".join(n for n in (f.note, note) if n))

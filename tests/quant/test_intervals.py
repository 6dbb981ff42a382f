"""Host-side confidence intervals vs scipy and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as sst

from quantmarl.quant import intervals

X = np.array([0.3, -0.1, 0.7, 0.4, 0.2, 0.6, 0.1, 0.15])


def test_mean_t_interval_matches_scipy():
    m, lo, hi = intervals.mean_t_interval(np.r_[X, np.nan])  # non-finite values dropped
    ref = sst.ttest_1samp(X, 0.0).confidence_interval(0.95)
    assert m == pytest.approx(X.mean())
    assert (lo, hi) == (pytest.approx(ref.low, rel=1e-12), pytest.approx(ref.high, rel=1e-12))
    assert intervals.mean_t_interval([2.0]) == (2.0, 2.0, 2.0)
    assert intervals.mean_t_interval([1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert all(math.isnan(v) for v in intervals.mean_t_interval([np.nan]))


def test_t_interval_and_zero_se():
    lo, hi = intervals.t_interval(1.0, 0.5, 7)
    h = sst.t.ppf(0.975, 7) * 0.5
    assert (lo, hi) == (pytest.approx(1.0 - h), pytest.approx(1.0 + h))
    assert intervals.t_interval(1.0, 0.0, 3) == (1.0, 1.0)


def test_wilson_interval_matches_statsmodels_formula():
    from statsmodels.stats.proportion import proportion_confint

    p, lo, hi = intervals.wilson_interval(7, 20)
    ref = proportion_confint(7, 20, alpha=0.05, method="wilson")
    assert p == 0.35 and (lo, hi) == (pytest.approx(ref[0]), pytest.approx(ref[1]))
    assert intervals.wilson_interval(0, 5)[1] == 0.0 and intervals.wilson_interval(5, 5)[2] == 1.0
    assert all(math.isnan(v) for v in intervals.wilson_interval(0, 0))


def test_percentile_interval_is_the_linear_quantile():
    reps = np.arange(101, dtype=np.float64)
    assert intervals.percentile_interval(reps) == (pytest.approx(2.5), pytest.approx(97.5))
    assert intervals.percentile_interval(reps, 0.9) == (pytest.approx(5.0), pytest.approx(95.0))

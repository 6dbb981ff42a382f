"""Survival estimates vs statsmodels' SurvfuncRight and hand-computed values.

Tolerances: survival and Greenwood errors rtol 1e-12; RMST rtol 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sst
from statsmodels.duration.survfunc import SurvfuncRight

from quantmarl.quant.survival import (
    censored_share,
    kaplan_meier,
    rmst,
    rmst_paired_test,
    survival_at,
)

T = np.array([3, 5, 5, 8, 10, 10, 12, 12, 12, 15])
E = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 0], bool)


def test_kaplan_meier_matches_statsmodels():
    km = kaplan_meier(T, E)
    ref = SurvfuncRight(T, E.astype(float))
    np.testing.assert_array_equal(km.time, ref.surv_times)
    np.testing.assert_allclose(km.survival, ref.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(km.std_err, ref.surv_prob_se, rtol=1e-12)
    np.testing.assert_array_equal(km.at_risk, ref.n_risk)
    assert km.n == 10 and km.n_censored == 5


def test_kaplan_meier_by_hand():
    km = kaplan_meier([2, 4, 4, 6], [True, True, False, False])
    # t=2: 4 at risk, 1 event -> 3/4; t=4: 3 at risk (censored at 4 still at risk) -> 2/3
    np.testing.assert_allclose(km.survival, [0.75, 0.5])
    assert survival_at(km, 1.9) == 1.0 and survival_at(km, 2) == 0.75
    assert survival_at(km, 5) == 0.5


def test_rmst_by_hand_and_against_the_curve():
    # S = 1 on [0,2), 0.75 on [2,4), 0.5 on [4,6): area to 6 = 2 + 1.5 + 1 = 4.5
    assert rmst([2, 4, 4, 6], [True, True, False, False], 6) == pytest.approx(4.5)
    assert rmst([2, 4, 4, 6], [True, True, False, False], 3) == pytest.approx(2.75)
    km = kaplan_meier(T, E)
    grid = np.linspace(0, 15, 150_001)
    curve = np.array([survival_at(km, g) for g in grid[:-1]])
    assert rmst(T, E, 15) == pytest.approx(np.sum(curve * np.diff(grid)), rel=1e-4)


def test_rmst_without_censoring_is_the_mean_capped_at_tau():
    t = np.array([1.0, 4.0, 7.0, 9.0])
    assert rmst(t, np.ones(4, bool), 20) == pytest.approx(t.mean(), rel=1e-12)
    assert rmst(t, np.ones(4, bool), 5) == pytest.approx(np.minimum(t, 5).mean(), rel=1e-12)


def test_censoring_is_not_counted_as_an_event():
    # censored at 4 (before the horizon): KM S = 1 on [0,2), 3/4 on [2,6), 3/8 on
    # [6,8), 0 after: RMST to 8 = 2 + 3 + 0.75; treating 4 as an event gives the mean 5
    t, e = np.array([2, 4, 6, 8]), np.array([True, False, True, True])
    assert rmst(t, e, 8) == pytest.approx(5.75) and t.mean() == 5.0
    # censored at the horizon itself: RMST is the mean of min(time, tau), by definition
    assert rmst([5, 10, 10], [True, False, False], 10) == pytest.approx(25 / 3)
    assert censored_share(e) == 0.25


def test_paired_rmst_test():
    rng = np.random.default_rng(0)
    ta = np.minimum(np.ceil(rng.exponential(10, 12)), 30)  # steps, censored at 30
    tb = np.minimum(np.ceil(rng.exponential(20, 12)), 30)
    test, ra, rb = rmst_paired_test(ta, ta < 30, tb, tb < 30, 30, "less")
    assert test.statistic == pytest.approx(ra - rb) and test.exact
    ref = sst.permutation_test(  # (steps, event) packed as steps + 0.5 * event
        (ta + 0.5 * (ta < 30), tb + 0.5 * (tb < 30)),
        lambda x, y, axis: _rmst_packed(x, axis) - _rmst_packed(y, axis),
        permutation_type="samples", alternative="less", vectorized=True)
    np.testing.assert_allclose(test.pvalue, ref.pvalue, rtol=1e-12)
    same, _, _ = rmst_paired_test(ta, ta < 30, ta, ta < 30, 30)
    assert same.statistic == 0.0 and same.pvalue == 1.0


def _rmst_packed(x, axis):
    x = np.moveaxis(np.asarray(x), axis, -1)
    flat = x.reshape(-1, x.shape[-1])
    out = [rmst(np.floor(row), row % 1 > 0.25, 30) for row in flat]
    return np.array(out).reshape(x.shape[:-1])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="durations"):
        rmst([1, -2], [True, True], 5)
    with pytest.raises(ValueError, match="tau"):
        rmst([1, 2], [True, True], 0)
    with pytest.raises(ValueError, match="equal length"):
        kaplan_meier([1, 2], [True])

"""Seed-paired permutation tests vs scipy.stats.permutation_test, effect sizes by hand.

Tolerances: statistics rtol 1e-12; exact p-values equal to scipy's to rtol 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sst

from quantmarl.quant.paired import (
    cohens_d_av,
    paired_permutation_test,
    sign_flip_test,
    swap_patterns,
)

RNG = np.random.default_rng(3)
A = RNG.normal(0.3, 1.0, 10)
B = A - RNG.normal(0.25, 0.5, 10)


def _scipy(a, b, alternative, n_resamples=9999):
    return sst.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                                permutation_type="samples", alternative=alternative,
                                n_resamples=n_resamples, vectorized=True)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_exact_sign_flip_matches_scipy(alternative):
    res = sign_flip_test(A, B, alternative)
    ref = _scipy(A, B, alternative)
    assert res.exact and res.n_resamples == 2**10
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-12)


def test_floor_is_reported_when_every_pair_agrees():
    a = np.arange(1.0, 7.0)
    res = sign_flip_test(a + 1.0, a, "greater")  # every difference +1: only identity ties
    assert res.pvalue == pytest.approx(1 / 64) and res.p_floor == pytest.approx(1 / 64)
    assert res.at_floor
    two = sign_flip_test(a + 1.0, a)
    assert two.pvalue == pytest.approx(2 / 64) and two.at_floor
    assert not sign_flip_test(A, B).at_floor or sign_flip_test(A, B).pvalue < 0.01


def test_randomised_when_patterns_exceed_resamples():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=20), rng.normal(size=20)
    res = sign_flip_test(a, b, n_resamples=999, seed=5)
    assert not res.exact and res.n_resamples == 999
    assert res.p_floor == pytest.approx(2 / 1000)
    exact = _scipy(a, b, "two-sided", n_resamples=2**20)  # scipy enumerates all 2**20
    assert abs(res.pvalue - exact.pvalue) < 0.05  # Monte Carlo error of 999 draws
    assert sign_flip_test(a, b, n_resamples=999, seed=5) == res  # seeded


def test_null_holds_size():
    """Under H0 (differences symmetric about 0) rejections at 0.05 stay near 5%."""
    rng = np.random.default_rng(11)
    p = [sign_flip_test(rng.normal(size=8), rng.normal(size=8)).pvalue for _ in range(400)]
    assert np.mean(np.asarray(p) < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 400)


def test_swap_patterns_enumerates_each_once():
    swap, exact = swap_patterns(4, 9999, 0)
    assert exact and swap.shape == (16, 4)
    assert len({tuple(r) for r in swap}) == 16 and not swap[0].any()


def test_record_statistic_swaps_whole_records():
    a = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    b = np.zeros_like(a)
    res = paired_permutation_test(a, b, lambda x, y: (x[..., 1] - y[..., 1]).sum(-1),
                                  "greater")
    assert res.statistic == 60.0 and res.pvalue == pytest.approx(1 / 8)


def test_cohens_d_av_by_hand():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 2.0, 2.0, 2.0])
    # mean(a - b) = 1; var(a) = 5/3, var(b) = 1: sd_av = sqrt(4/3)
    assert cohens_d_av(a, b) == pytest.approx(1 / np.sqrt(4 / 3))
    assert cohens_d_av(np.ones(3), np.ones(3)) is None


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="alternative"):
        sign_flip_test(A, B, "bigger")
    with pytest.raises(ValueError, match="equal shapes"):
        sign_flip_test(A, B[:5])
    with pytest.raises(ValueError, match="1-D"):
        sign_flip_test(A[:, None], B[:, None])

"""Paired and two-sample comparisons against scipy and hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats as st

from experiments.compare import holm_adjust, paired_comparison, two_sample_comparison

A = np.array([1.2, 0.8, 1.9, 1.4, 1.1, 1.7, 0.9, 1.3])
B = np.array([1.0, 0.9, 1.2, 1.0, 0.7, 1.1, 0.8, 1.2])


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_paired_wilcoxon_matches_scipy(alternative):
    f = paired_comparison(A, B, "a > b", "m", alternative=alternative)
    ref = st.wilcoxon(A - B, alternative=alternative)
    assert f.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert f.statistic == pytest.approx(ref.statistic)
    d = A - B
    assert f.effect_size == pytest.approx(d.mean())
    assert f.ci_low <= f.effect_size <= f.ci_high
    assert f.d_z == pytest.approx(d.mean() / d.std(ddof=1))
    assert f.cohens_d == pytest.approx(d.mean() / np.sqrt((A.var(ddof=1) + B.var(ddof=1)) / 2))
    assert f.p_wilcoxon == f.p_value
    assert f.n_seeds == 8 and f.test.startswith("wilcoxon") and f.ci_method == "bootstrap"
    assert f.verdict == ("reject H0" if f.p_value < 0.05 else "fail to reject H0")


def test_paired_t_matches_scipy_and_t_interval():
    f = paired_comparison(A, B, "a != b", "m", test="t")
    ref = st.ttest_rel(A, B)
    assert f.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    lo, hi = ref.confidence_interval(0.95)
    assert (f.ci_low, f.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert f.ci_method == "t" and f.verdict == "reject H0"  # p ~ 0.01
    # hand-computed: d = [.2,-.1,.7,.4,.4,.6,.1,.1], mean .3, sd .2726
    assert f.effect_size == pytest.approx(0.3)
    assert f.statistic == pytest.approx(0.3 / (np.std(A - B, ddof=1) / math.sqrt(8)))


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_paired_sign_flip_tests_the_mean_difference(alternative):
    f = paired_comparison(A, B, "a > b", "m", alternative=alternative, test="sign-flip")
    ref = st.permutation_test((A, B), lambda x, y, axis: np.mean(x - y, axis=axis),
                              permutation_type="samples", alternative=alternative,
                              vectorized=True)
    assert f.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert f.statistic == pytest.approx(0.3) and f.effect_size == pytest.approx(0.3)
    assert f.test == "sign-flip permutation (paired mean) (exact)" and f.ci_method == "t"
    assert f.p_floor == pytest.approx((2 if alternative == "two-sided" else 1) / 256)
    assert f.p_wilcoxon == pytest.approx(st.wilcoxon(A - B, alternative=alternative).pvalue)


def test_p_at_the_floor_is_flagged():
    f = paired_comparison(A + 1.0, A, "a > b", "m", alternative="greater", test="sign-flip")
    assert f.at_floor and f.p_value == pytest.approx(1 / 256) and f.verdict == "reject H0"


def test_two_sample_matches_scipy():
    w = two_sample_comparison(A, B[:6], "differ", "m")
    ref = st.ttest_ind(A, B[:6], equal_var=False)
    assert w.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    lo, hi = ref.confidence_interval(0.95)
    assert (w.ci_low, w.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert (w.n_seeds, w.n_b) == (8, 6)
    m = two_sample_comparison(A, B, "a > b", "m", test="mannwhitney", alternative="greater")
    assert m.p_value == pytest.approx(st.mannwhitneyu(A, B, alternative="greater").pvalue)
    assert m.ci_low <= m.effect_size <= m.ci_high and m.ci_method == "bootstrap"


def test_bootstrap_ci_is_reproducible_and_seeded():
    f1 = paired_comparison(A, B, "h", "m")
    f2 = paired_comparison(A, B, "h", "m")
    assert f1 == f2
    x = np.random.default_rng(5).normal(size=12)  # irregular values: no ties among means
    g0, g1 = (paired_comparison(x, x * 0.5, "h", "m", seed=s) for s in (0, 1))
    assert g0.ci_low != g1.ci_low and g0.effect_size == g1.effect_size


@pytest.mark.parametrize("test", ["wilcoxon", "t", "sign-flip"])
def test_degenerate_all_zero_differences(test):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = paired_comparison(A, A.copy(), "h", "m", test=test)
    assert (f.p_value, f.ci_low, f.ci_high, f.effect_size) == (1.0, 0.0, 0.0, 0.0)
    assert f.verdict == "fail to reject H0" and f.d_z is None and f.note
    assert f.p_wilcoxon is None


def test_degenerate_constant_and_identical_samples():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = paired_comparison(A + 1.0 - 1.0 + 0.5, A, "h", "m", test="t", alternative="greater")
        w = paired_comparison(np.full(5, 2.0), np.ones(5), "h", "m")
        u = two_sample_comparison(np.ones(4), np.ones(4), "h", "m", test="mannwhitney")
        v = two_sample_comparison(np.ones(4), np.zeros(3), "h", "m", alternative="less")
        x = two_sample_comparison(np.ones(4), np.zeros(3), "h", "m")
    assert t.effect_size == pytest.approx(0.5) and t.ci_low == pytest.approx(t.ci_high)
    assert w.p_value == pytest.approx(st.wilcoxon(np.ones(5)).pvalue) and w.ci_low == w.ci_high
    assert u.p_value == 1.0 and (u.ci_low, u.ci_high) == (0.0, 0.0)
    assert v.p_value == 1.0 and x.p_value == 0.0 and x.verdict == "reject H0"


def test_input_validation():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_comparison(A, B[:4], "h", "m")
    with pytest.raises(ValueError, match="non-finite"):
        paired_comparison([1.0, np.nan], [1.0, 2.0], "h", "m")
    with pytest.raises(ValueError, match="at least 2"):
        paired_comparison([1.0], [2.0], "h", "m")
    with pytest.raises(ValueError, match="alternative"):
        paired_comparison(A, B, "h", "m", alternative="bigger")
    with pytest.raises(ValueError, match="test must be one of"):
        paired_comparison(A, B, "h", "m", test="welch")
    with pytest.raises(ValueError, match="test must be"):
        two_sample_comparison(A, B, "h", "m", test="wilcoxon")


def test_holm_adjust_matches_hand_computation():
    fs = [paired_comparison(A, B, f"h{i}", "m") for i in range(3)]
    fs = [fs[0].__class__(**{**fs[0].to_dict(), "p_value": p}) for p in (0.01, 0.04, 0.03)]
    adj = holm_adjust(fs)
    # sorted p: .01*3 = .03, .03*2 = .06, .04*1 -> max(.06, .04) = .06
    assert [f.p_adjusted for f in adj] == pytest.approx([0.03, 0.06, 0.06])
    assert [f.verdict for f in adj] == ["reject H0", "fail to reject H0", "fail to reject H0"]
    assert adj[0].correction == "holm (3 tests)"

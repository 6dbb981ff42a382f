"""Statistics vs scipy / statsmodels.

Tolerances: Welch t rtol 1e-10, p rtol 1e-8; Mann-Whitney U exact, p rtol 1e-10;
multipletests rtol 1e-12 and identical rejections; bootstrap CIs rtol 1e-10 against
scipy.stats.bootstrap fed the same bootstrap replicates (``bootstrap_result``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as sst
from statsmodels.stats.multitest import multipletests

import quantmarl  # noqa: F401
from quantmarl.quant import stats as qs

RNG = np.random.default_rng(0)
X = RNG.normal(0.0, 1.0, (6, 20))
Y = RNG.normal(0.4, 2.0, (6, 27))


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_welch_matches_scipy(alternative):
    res = qs.welch_ttest(X, Y, alternative=alternative)
    ref = sst.ttest_ind(X, Y, axis=-1, equal_var=False, alternative=alternative)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-10)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-8)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("use_continuity", [True, False])
def test_mann_whitney_matches_scipy_asymptotic(alternative, use_continuity):
    xi, yi = np.round(X), np.round(Y)  # many ties
    res = qs.mann_whitney_u(xi, yi, use_continuity=use_continuity, alternative=alternative)
    ref = sst.mannwhitneyu(xi, yi, axis=-1, method="asymptotic", alternative=alternative,
                           use_continuity=use_continuity)
    np.testing.assert_array_equal(res.statistic, ref.statistic)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-10)


def test_cohens_d_hand():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([3.0, 4.0, 5.0, 6.0])
    # pooled var = (2*1 + 3*(5/3)) / 5 = 7/5
    assert float(qs.cohens_d(x, y)) == pytest.approx(-2.5 / np.sqrt(1.4), rel=1e-12)


P = np.concatenate([RNG.uniform(0, 0.06, (4, 10)), np.full((4, 2), 0.01)], axis=1)


@pytest.mark.parametrize(("fn", "method"), [(qs.holm, "holm"), (qs.benjamini_hochberg, "fdr_bh")])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_multipletests(fn, method, alpha):
    reject, adj = fn(P, alpha)
    for i in range(P.shape[0]):
        ref_r, ref_adj, _, _ = multipletests(P[i], alpha, method)
        np.testing.assert_array_equal(np.asarray(reject[i]), ref_r)
        np.testing.assert_allclose(adj[i], ref_adj, rtol=1e-12)


class _Dist:
    def __init__(self, d):
        self.bootstrap_distribution = np.asarray(d)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_matches_scipy_given_replicates(method):
    key = jax.random.key(0)
    data = RNG.exponential(size=(3, 30))
    lo, hi = qs.bootstrap_ci(key, data, jnp.mean, 999, 0.9, method)
    tb = qs.bootstrap_distribution(key, data, jnp.mean, 999)
    ref = sst.bootstrap((data,), np.mean, n_resamples=0, bootstrap_result=_Dist(tb),
                        method="BCa" if method == "bca" else method, confidence_level=0.9,
                        axis=-1)
    np.testing.assert_allclose(lo, ref.confidence_interval.low, rtol=1e-10)
    np.testing.assert_allclose(hi, ref.confidence_interval.high, rtol=1e-10)
    assert np.all(np.asarray(lo) < data.mean(-1)) and np.all(data.mean(-1) < np.asarray(hi))


def test_bootstrap_key_semantics_and_batch():
    data = RNG.normal(size=(2, 25))
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a = qs.bootstrap_ci(k0, data, jnp.mean, 999, 0.9, "bca")
    b = qs.bootstrap_ci(k0, data, jnp.mean, 999, 0.9, "bca")
    c = qs.bootstrap_ci(k1, data, jnp.mean, 999, 0.9, "bca")
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    # batch rows get distinct sub-keys: identical rows give different intervals
    same = np.stack([data[0], data[0]])
    lo, _ = qs.bootstrap_ci(k0, same, jnp.mean, 999, 0.9, "percentile")
    assert float(lo[0]) != float(lo[1])


def test_permutation_test_vs_scipy_exact():
    x = np.array([0.3, 1.2, 2.2, 0.8, 1.9, 2.5])
    y = np.array([-0.4, 0.1, 0.6, -1.0, 0.9, 0.2])

    def stat(a, b, axis=-1):
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)

    for alt in ("two-sided", "greater"):
        exact = sst.permutation_test((x, y), stat, alternative=alt).pvalue  # 924 splits
        res = qs.permutation_test(jax.random.key(3), x, y, n_resamples=4999, alternative=alt)
        assert float(res.statistic) == pytest.approx(stat(x, y), rel=1e-12)
        se = np.sqrt(exact * (1 - exact) / 4999)
        assert abs(float(res.pvalue) - exact) < 5 * se + 2e-4


def test_permutation_batched_and_null():
    res = qs.permutation_test(jax.random.key(1), X, Y, n_resamples=999)
    assert res.pvalue.shape == (6,)
    assert np.all((np.asarray(res.pvalue) > 0) & (np.asarray(res.pvalue) <= 1))
    far = qs.permutation_test(jax.random.key(1), X + 10.0, Y, n_resamples=999)
    np.testing.assert_allclose(far.pvalue, 2.0 / 1000.0)  # (0 + 1)/(B + 1), two-sided


def test_vmap_equals_batched_and_loop():
    f = jax.jit(jax.vmap(qs.welch_ttest))
    b = f(X, Y)
    loop = [qs.welch_ttest(x, y) for x, y in zip(X, Y, strict=True)]
    np.testing.assert_allclose(b.pvalue, [r.pvalue for r in loop], rtol=1e-12)
    m = jax.vmap(qs.mann_whitney_u)(X, Y)
    np.testing.assert_allclose(m.pvalue, qs.mann_whitney_u(X, Y).pvalue, rtol=1e-12)
    h = jax.vmap(qs.holm)(P)
    np.testing.assert_allclose(h[1], qs.holm(P)[1], rtol=1e-12)
    d = jax.vmap(qs.cohens_d)(X, Y)
    np.testing.assert_allclose(d, qs.cohens_d(X, Y), rtol=1e-12)


def test_float32_accepted():
    res = qs.welch_ttest(X.astype(np.float32), Y.astype(np.float32))
    assert res.pvalue.dtype == np.float32
    np.testing.assert_allclose(res.pvalue, qs.welch_ttest(X, Y).pvalue, rtol=1e-4)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_paired_ttest_and_paired_d_match_scipy(alternative):
    x, y = X, X + RNG.normal(0.2, 0.5, X.shape)
    res = qs.paired_ttest(x, y, alternative=alternative)
    ref = sst.ttest_rel(x, y, axis=-1, alternative=alternative)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-10)
    d = x - y
    np.testing.assert_allclose(qs.paired_cohens_d(x, y), d.mean(-1) / d.std(-1, ddof=1),
                               rtol=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("n1, n2", [(5, 7), (8, 12), (3, 3), (9, 9), (4, 20)])
def test_mann_whitney_auto_matches_scipy_default(n1, n2, alternative):
    """method="auto": exact null distribution for small untied samples, as scipy's default."""
    rng = np.random.default_rng(n1 * 100 + n2)
    x, y = rng.normal(size=n1), rng.normal(0.5, 1.0, size=n2)
    res = qs.mann_whitney_u(x, y, alternative=alternative, method="auto")
    ref = sst.mannwhitneyu(x, y, alternative=alternative)
    assert float(res.statistic) == ref.statistic
    np.testing.assert_allclose(float(res.pvalue), ref.pvalue, rtol=1e-12, atol=1e-15)
    tied = qs.mann_whitney_u(np.round(x), np.round(y), alternative=alternative, method="auto")
    ref_tied = sst.mannwhitneyu(np.round(x), np.round(y), alternative=alternative)
    np.testing.assert_allclose(float(tied.pvalue), ref_tied.pvalue, rtol=1e-12)

"""Herding: LSV vs an independent numpy/scipy reference; CCK vs statsmodels OLS.

Tolerances: AF and LSV rtol 1e-12; OLS params/bse/t rtol 1e-9, p-values rtol 1e-8.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import scipy.stats as sst
import statsmodels.api as sm

import quantmarl  # noqa: F401
from quantmarl.quant import herding as hd


def _af_ref(n: int, p: float) -> float:
    k = np.arange(n + 1)
    return float(np.sum(sst.binom.pmf(k, n, p) * np.abs(k / n - p)))


def _lsv_ref(q: np.ndarray, min_traders: int = 1):
    """Loop implementation of LSV with the documented p_t conventions."""
    b = (q > 0).sum(-1).astype(float)
    n = ((q > 0) | (q < 0)).sum(-1)
    ok = n >= min_traders
    if q.ndim == 2:
        p_exp = np.full(b.shape, b[ok].sum() / n[ok].sum())
    else:
        with np.errstate(invalid="ignore"):  # all-inactive period -> NaN, unused
            p_exp = np.stack([np.full(b.shape[1], b[t][ok[t]].sum() / n[t][ok[t]].sum())
                              for t in range(b.shape[0])])
    h = np.full(b.shape, np.nan)
    for idx in np.ndindex(b.shape):
        if ok[idx]:
            h[idx] = abs(b[idx] / n[idx] - p_exp[idx]) - _af_ref(int(n[idx]), p_exp[idx])
    return h


def test_adjustment_factor_exact():
    ns = np.array([1, 2, 5, 10, 37])
    ps = np.array([0.3, 0.5, 0.5, 0.7, 0.42])
    out = np.asarray(hd.lsv_adjustment_factor(ns, ps, 40))
    np.testing.assert_allclose(out, [_af_ref(n, p) for n, p in zip(ns, ps, strict=True)],
                               rtol=1e-12)
    assert out[1] == pytest.approx(0.25, rel=1e-14)  # hand: N=2, p=1/2
    np.testing.assert_array_equal(hd.lsv_adjustment_factor(np.array([4, 4]),
                                                           np.array([0.0, 1.0]), 8), [0, 0])
    assert np.isnan(float(hd.lsv_adjustment_factor(0, 0.5, 4)))


def test_lsv_hand_cases():
    # all buy every period: p = 1, H = 0
    r = hd.lsv(np.ones((6, 4)))
    np.testing.assert_allclose(r.h, 0.0, atol=1e-15)
    # 2 agents, alternate all-buy / all-sell: p = 1/2, |p_t - p| = 1/2, AF(2, 1/2) = 1/4
    q = np.array([[1, 1], [-1, -1]] * 3)
    r = hd.lsv(q)
    np.testing.assert_allclose(r.h, 0.25, rtol=1e-14)
    assert float(r.buy) == pytest.approx(0.25) and float(r.sell) == pytest.approx(0.25)


@pytest.mark.parametrize("shape", [(40, 9), (30, 3, 7)])
def test_lsv_matches_reference(shape):
    q = np.random.default_rng(sum(shape)).integers(-3, 4, size=shape)
    q[0] = 0  # an inactive period -> NaN
    r = hd.lsv(q, min_traders=2)
    ref = _lsv_ref(q, 2)
    np.testing.assert_array_equal(np.isnan(r.h), np.isnan(ref))
    np.testing.assert_allclose(np.asarray(r.h)[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-12)
    assert float(r.mean) == pytest.approx(np.nanmean(ref), rel=1e-12)
    buy = np.asarray(r.p_cell) > np.asarray(r.p_expected)
    assert float(r.buy) == pytest.approx(np.nanmean(np.where(buy, ref, np.nan)), rel=1e-12)


def test_lsv_detects_herding():
    rng = np.random.default_rng(5)
    side = rng.choice([-1, 1], size=(200, 1))
    herd = np.where(rng.uniform(size=(200, 20)) < 0.9, side, -side)
    indep = rng.choice([-1, 1], size=(200, 20))
    assert float(hd.lsv(herd).mean) > 0.3
    assert abs(float(hd.lsv(indep).mean)) < 0.02


def test_csad_hand():
    r = np.array([[0.01, 0.03, -0.01], [0.0, 0.0, 0.0]])
    c, rm = hd.csad(r)
    np.testing.assert_allclose(rm, [0.01, 0.0], atol=1e-15)
    np.testing.assert_allclose(c, [(0 + 0.02 + 0.02) / 3, 0.0], atol=1e-15)


def _cck_data(seed: int, n: int = 250):
    rng = np.random.default_rng(seed)
    rm = rng.normal(0, 0.01, n)
    e = np.zeros(n)
    for t in range(1, n):  # autocorrelated errors make HAC differ from classical
        e[t] = 0.5 * e[t - 1] + rng.normal(0, 0.002)
    return 0.01 + 0.4 * np.abs(rm) - 3.0 * rm**2 + e, rm


def _check(res, ref):
    for a, b in [(res.params, ref.params), (res.bse, ref.bse), (res.tvalues, ref.tvalues)]:
        np.testing.assert_allclose(a, b, rtol=1e-9)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8, atol=1e-300)
    assert float(res.nobs) == ref.nobs
    assert float(res.rsquared) == pytest.approx(ref.rsquared, rel=1e-9)


def _design(rm):
    return np.column_stack([np.ones_like(rm), np.abs(rm), rm**2])


@pytest.mark.parametrize(
    "kw",
    [{}, {"maxlags": 4}, {"maxlags": 4, "kernel": "uniform"},
     {"maxlags": 2, "use_correction": True}],
)
def test_cck_matches_statsmodels(kw):
    y, rm = _cck_data(0)
    X = _design(rm)
    if kw:
        ref = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds=dict(kw))
        res = hd.cck_regression(y, rm, hac_maxlags=kw["maxlags"],
                                kernel=kw.get("kernel", "bartlett"),
                                use_correction=kw.get("use_correction", False))
    else:
        ref = sm.OLS(y, X).fit()
        res = hd.cck_regression(y, rm)
    _check(res, ref)


@pytest.mark.parametrize("maxlags", [None, 3])
def test_up_down_and_stress_match_subsets(maxlags):
    y, rm = _cck_data(1)
    X = _design(rm)

    def fit(m):
        model = sm.OLS(y[m], X[m])
        return model.fit() if maxlags is None else model.fit(cov_type="HAC",
                                                             cov_kwds={"maxlags": maxlags})

    up, down = hd.cck_up_down(y, rm, hac_maxlags=maxlags)
    _check(up, fit(rm > 0))
    _check(down, fit(rm < 0))
    stress = np.zeros(len(y), bool)
    stress[50:120] = True
    stress[200:230] = True
    inside, outside = hd.cck_masked(y, rm, stress, hac_maxlags=maxlags)
    _check(inside, fit(stress))
    _check(outside, fit(~stress))


def test_cck_vmap_over_seeds_equals_loop():
    data = [_cck_data(s) for s in range(3)]
    ys = np.stack([d[0] for d in data])
    rms = np.stack([d[1] for d in data])
    f = jax.jit(jax.vmap(lambda y, r: hd.cck_regression(y, r, hac_maxlags=4)))
    batched = f(ys, rms)
    for i, (y, r) in enumerate(data):
        single = hd.cck_regression(y, r, hac_maxlags=4)
        np.testing.assert_allclose(batched.params[i], single.params, rtol=1e-12)
        np.testing.assert_allclose(batched.bse[i], single.bse, rtol=1e-12)
    q = np.random.default_rng(9).integers(-2, 3, size=(3, 50, 6))
    lsv_b = jax.jit(jax.vmap(hd.lsv))(q)
    assert lsv_b.h.shape == (3, 50)
    for i in range(3):
        np.testing.assert_allclose(lsv_b.h[i], hd.lsv(q[i]).h, rtol=1e-12)
        assert float(lsv_b.mean[i]) == pytest.approx(float(hd.lsv(q[i]).mean), rel=1e-12)


def test_lsv_contemporaneous_expectation_removes_a_common_reaction():
    """Everyone sells in a crash period and buys otherwise: pooling p over the episode
    calls that herding; the contemporaneous share of all traders does not."""
    rng = np.random.default_rng(7)
    market_side = np.where(rng.uniform(size=(300, 1)) < 0.5, 1, -1)
    p_buy = np.where(market_side > 0, 0.8, 0.2)  # all traders react to the same news
    q = np.where(rng.uniform(size=(300, 30)) < p_buy, 1, -1)
    learners, others = q[:, :10], q[:, 10:]
    pooled = hd.lsv(learners, min_traders=5)
    contemporaneous = hd.lsv(learners, min_traders=5, expected=hd.buy_share(q))
    assert float(pooled.mean) > 0.15
    assert abs(float(contemporaneous.mean)) < 0.03
    versus_others = hd.lsv(learners, min_traders=5, expected=hd.buy_share(others))
    assert abs(float(versus_others.mean)) < 0.05


def test_lsv_expected_by_hand_and_valid_share():
    q = np.array([[1, 1, -1, 0], [0, 0, 0, 0], [1, -1, 0, 0]])
    r = hd.lsv(q, expected=np.array([0.5, 0.5, np.nan]))
    # period 0: p = 2/3, N = 3, E|B/3 - 1/2| = (1/8)(1/2 + 3*1/6 + 3*1/6 + 1/2) = 1/4
    assert float(r.h[0]) == pytest.approx(abs(2 / 3 - 0.5) - 0.25, rel=1e-12)
    assert np.isnan(r.h[1]) and np.isnan(r.h[2])  # nobody traded; expectation undefined
    assert float(r.valid_share) == pytest.approx(1 / 3)
    np.testing.assert_allclose(hd.buy_share(q), [2 / 3, np.nan, 0.5])
    panel = hd.lsv(np.stack([q, q], 1), expected=np.array([0.5, 0.5, 0.5]))
    np.testing.assert_allclose(panel.h[0], [r.h[0], r.h[0]], rtol=1e-12)

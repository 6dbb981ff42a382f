"""Market quality: hand cases, numpy and statsmodels (rtol 1e-12 / 1e-9 for OLS)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import statsmodels.api as sm

import quantmarl  # noqa: F401
from quantmarl.quant import market_quality as mq


def test_spread_and_depth_hand():
    bid = np.array([99.0, 100.0, np.nan])
    ask = np.array([101.0, 100.5, 101.0])
    np.testing.assert_allclose(mq.spread(bid, ask)[:2], [2.0, 0.5])
    assert np.isnan(float(mq.spread(bid, ask)[2]))
    np.testing.assert_allclose(mq.relative_spread(bid, ask)[:2], [0.02, 0.5 / 100.25], rtol=1e-14)
    bq = np.array([[5.0, 3.0, 1.0], [2.0, np.nan, np.nan]])
    aq = np.array([[4.0, 0.0, 7.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(mq.depth(bq, aq), [20.0, 5.0])
    np.testing.assert_allclose(mq.depth(bq, aq, levels=1), [9.0, 3.0])


def test_volatility_amplification_numpy():
    r = np.random.default_rng(0).normal(0, 0.01, 200)
    r[100:130] *= 3
    out = float(mq.volatility_amplification(r, 100, 50, 30))
    ref = r[100:130].std(ddof=1) / r[50:100].std(ddof=1)
    assert out == pytest.approx(ref, rel=1e-12)
    assert out > 2.0


P = np.array([100, 100, 100, 90, 92, 95, 99.5, 100.2, 100, 100.0])


@pytest.mark.parametrize(
    ("prices", "hold", "steps", "censored"),
    [
        (P, 1, 3, False),  # leaves band at t=3, back within 1% at t=6
        (P, 3, 3, False),  # 99.5, 100.2, 100 stay inside for 3 steps
        (P[:6], 1, 3, True),  # never back: censored at T - t0 = 3
        (np.full(10, 100.0), 1, 0, False),  # never left the band
    ],
)
def test_recovery_time_hand(prices, hold, steps, censored):
    res = mq.recovery_time(prices, 3, band=0.01, pre_window=3, hold=hold)
    assert int(res.steps) == steps and bool(res.censored) == censored
    assert float(res.reference) == pytest.approx(100.0)


def test_recovery_hold_delays():
    p = np.array([100, 100, 90, 100, 90, 100, 100, 100.0])
    assert int(mq.recovery_time(p, 2, 0.01, 2, hold=1).steps) == 1
    assert int(mq.recovery_time(p, 2, 0.01, 2, hold=2).steps) == 3


def test_kyle_lambda_matches_statsmodels():
    rng = np.random.default_rng(1)
    q = rng.normal(0, 100, 400)
    dp = 0.002 * q + rng.normal(0, 0.1, 400)  # se(lambda) ~ 5e-5
    res = mq.kyle_lambda(dp, q)
    ref = sm.OLS(dp, sm.add_constant(q)).fit()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-9)
    assert float(res.params[1]) == pytest.approx(0.002, rel=0.1)
    hac = mq.kyle_lambda(dp, q, hac_maxlags=5)
    ref_h = sm.OLS(dp, sm.add_constant(q)).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    np.testing.assert_allclose(hac.bse, ref_h.bse, rtol=1e-9)


def test_realised_volatility():
    r = np.array([0.01, -0.02, 0.02])
    assert float(mq.realised_volatility(r)) == pytest.approx(0.03, rel=1e-12)
    assert float(mq.realised_volatility(r, 252)) == pytest.approx(np.sqrt(252 * 9e-4 / 3),
                                                                  rel=1e-12)
    rs = np.random.default_rng(2).normal(size=(3, 50))
    np.testing.assert_allclose(mq.realised_volatility(rs), np.sqrt((rs**2).sum(1)), rtol=1e-12)


def test_vmap_over_seeds_and_shock_times():
    rng = np.random.default_rng(3)
    prices = 100 + np.cumsum(rng.normal(0, 0.5, (4, 120)), axis=1)
    shocks = np.array([20, 40, 60, 80])
    f = jax.jit(jax.vmap(lambda p, t: mq.recovery_time(p, t, 0.005, 5)))
    b = f(prices, shocks)
    for i in range(4):
        s = mq.recovery_time(prices[i], shocks[i], 0.005, 5)
        assert int(b.steps[i]) == int(s.steps) and bool(b.censored[i]) == bool(s.censored)
    r = np.diff(prices, axis=1)
    va = jax.vmap(lambda x, t: mq.volatility_amplification(x, t, 10, 10))(r, shocks)
    np.testing.assert_allclose(
        va, [mq.volatility_amplification(r[i], shocks[i], 10, 10) for i in range(4)], rtol=1e-12
    )


def test_amihud_by_hand():
    r = np.array([[0.01, -0.02, 0.03, 0.0], [0.0, 0.0, 0.0, 0.0]])
    v = np.array([[10.0, 0.0, 30.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    out = np.asarray(mq.amihud_illiquidity(r, v))
    # periods with volume: 0.01/10, 0.03/30, 0/5 -> mean 0.002/3
    assert out[0] == pytest.approx((0.001 + 0.001 + 0.0) / 3, rel=1e-12)
    assert np.isnan(out[1])

"""Risk metrics on hand-computed cases and against numpy (rtol 1e-12 unless stated)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import quantmarl  # noqa: F401
from quantmarl.quant import risk

R = np.array([0.01, -0.02, 0.03, -0.01, 0.005])
TOL = 1e-12


def test_returns_simple_and_log():
    p = np.array([100.0, 110.0, 99.0])
    np.testing.assert_allclose(risk.returns(p), [0.1, -0.1], rtol=TOL)
    np.testing.assert_allclose(risk.returns(p, log=True), np.log([1.1, 0.9]), rtol=TOL)


def test_sharpe_hand_and_numpy():
    # mean = 0.003, sample std (ddof=1) = sqrt(0.00037) by hand
    assert float(risk.sharpe(R, 1)) == pytest.approx(0.003 / np.sqrt(0.00037), rel=TOL)
    ref = (R - 0.001).mean() / (R - 0.001).std(ddof=1) * np.sqrt(252)
    assert float(risk.sharpe(R, 252, 0.001)) == pytest.approx(ref, rel=TOL)


def test_sortino_hand():
    # downside squares: 0.0004 + 0.0001 over 5 periods -> DD = sqrt(0.0001)
    assert float(risk.sortino(R, 1)) == pytest.approx(0.003 / 0.01, rel=TOL)


def test_drawdown_and_duration_hand():
    eq = np.array([1.0, 2.0, 1.0, 3.0, 1.5, 1.8, 2.9, 3.2])
    assert float(risk.max_drawdown(eq)) == pytest.approx(0.5, rel=TOL)
    np.testing.assert_allclose(risk.drawdown(eq), [0, 0, 0.5, 0, 0.5, 0.4, 1 - 2.9 / 3, 0],
                               atol=1e-15)
    assert int(risk.max_drawdown_duration(eq)) == 3
    assert int(risk.max_drawdown_duration(np.arange(1.0, 6.0))) == 0
    assert float(risk.max_drawdown(np.arange(1.0, 6.0))) == 0.0


def test_calmar_hand():
    r = np.array([0.1, -0.5, 0.2])  # equity 1, 1.1, 0.55, 0.66
    cagr = 0.66 ** (252 / 3) - 1
    assert float(risk.calmar(r)) == pytest.approx(cagr / 0.5, rel=1e-10)
    assert float(risk.annual_return(r, 3)) == pytest.approx(0.66 - 1, rel=1e-12)


def test_win_rate_and_profit_factor():
    pnl = np.array([5.0, -2.0, 0.0, 3.0, -1.0])
    assert float(risk.win_rate(pnl)) == pytest.approx(0.4)
    assert float(risk.profit_factor(pnl)) == pytest.approx(8.0 / 3.0, rel=TOL)
    mask = np.array([True, True, False, False, False])
    assert float(risk.win_rate(pnl, mask)) == pytest.approx(0.5)
    assert float(risk.profit_factor(pnl, mask)) == pytest.approx(2.5, rel=TOL)
    assert np.isinf(float(risk.profit_factor(np.array([1.0, 2.0]))))


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_var_es_against_numpy(alpha):
    r = np.random.default_rng(0).standard_t(3, 1000) * 0.01
    q = np.quantile(r, alpha)  # numpy default 'linear' (type 7)
    assert float(risk.var(r, alpha)) == pytest.approx(-q, rel=TOL)
    assert float(risk.expected_shortfall(r, alpha)) == pytest.approx(-r[r <= q].mean(), rel=TOL)


def test_var_es_hand():
    # sorted: -0.02 -0.01 0.005 0.01 0.03; Q(0.2) at h = 0.8 -> -0.02 + 0.8*0.01 = -0.012
    assert float(risk.var(R, 0.2)) == pytest.approx(0.012, rel=TOL)
    assert float(risk.expected_shortfall(R, 0.2)) == pytest.approx(0.02, rel=TOL)


def test_trading_activity():
    q = np.array([0.0, 2.0, -3.0, 0.0])
    assert float(risk.average_trade_size(q)) == pytest.approx(2.5)
    assert float(risk.trade_frequency(q)) == pytest.approx(0.5)
    assert np.isnan(float(risk.average_trade_size(np.zeros(3))))
    tv = np.array([100.0, -50.0, 0.0, 50.0])
    eq = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    assert float(risk.turnover(tv, eq)) == pytest.approx(200.0 / 4000.0, rel=TOL)


def test_jit_vmap_over_seeds_equals_loop():
    rs = np.random.default_rng(1).normal(0.0005, 0.01, (5, 300))
    eq = np.cumprod(1 + rs, axis=1)
    fns = [risk.sharpe, risk.sortino, risk.calmar, risk.var, risk.expected_shortfall]
    for f in fns:
        batched = np.asarray(jax.jit(jax.vmap(f))(rs))
        np.testing.assert_allclose(batched, [float(f(r)) for r in rs], rtol=1e-12)
    for f in (risk.max_drawdown, risk.max_drawdown_duration):
        np.testing.assert_array_equal(np.asarray(jax.vmap(f)(eq)), [f(e) for e in eq])

"""Stylised facts against scipy/statsmodels/numpy (rtol 1e-10 unless stated)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import scipy.stats as sst
from statsmodels.tsa.stattools import acf as sm_acf

import quantmarl  # noqa: F401
from quantmarl.quant import stylized as sty


def _garch_t(seed: int, n: int) -> np.ndarray:
    """GARCH(1,1) returns with Student-t(5) shocks: heavy tails + clustering."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(5, n) / np.sqrt(5 / 3)
    r = np.zeros(n)
    s2 = 1e-4
    prev = 0.0
    for t in range(n):
        s2 = 1e-6 + 0.1 * prev**2 + 0.88 * s2
        r[t] = prev = np.sqrt(s2) * z[t]
    return r


GARCH = _garch_t(0, 4000)


def test_excess_kurtosis_matches_scipy():
    x = np.random.default_rng(0).standard_t(5, 700)
    assert float(sty.excess_kurtosis(x)) == pytest.approx(sst.kurtosis(x), rel=1e-10)


@pytest.mark.parametrize("fft", [False, True])
def test_acf_matches_statsmodels(fft):
    np.testing.assert_allclose(sty.acf(GARCH, 20), sm_acf(GARCH, nlags=20, fft=fft),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sty.acf_abs(GARCH, 20), sm_acf(np.abs(GARCH), nlags=20, fft=fft),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sty.acf_squared(GARCH, 20), sm_acf(GARCH**2, nlags=20, fft=fft),
                               rtol=1e-10, atol=1e-12)


def test_hill_hand_and_pareto():
    x = np.array([1.0, -8.0, 4.0, 2.0, 0.5])
    # k = 2: top |x| are 8, 4; X_(3) = 2 -> alpha = 2 / (log 4 + log 2)
    assert float(sty.hill_tail_index(x, 2)) == pytest.approx(2 / np.log(8), rel=1e-12)
    pareto = np.random.default_rng(1).pareto(3.0, 20000) + 1.0  # tail index 3
    assert float(sty.hill_tail_index(pareto, 1000)) == pytest.approx(3.0, abs=0.3)


def test_volume_volatility_correlation():
    rng = np.random.default_rng(2)
    r = rng.normal(size=300)
    v = np.abs(r) * 3 + rng.uniform(size=300)
    ref = np.corrcoef(np.abs(r), v)[0, 1]
    assert float(sty.volume_volatility_correlation(r, v)) == pytest.approx(ref, rel=1e-12)


def test_aggregational_gaussianity():
    out = np.asarray(sty.aggregational_gaussianity(GARCH, (1, 5, 20)))
    for h, k in zip((1, 5, 20), out, strict=True):
        m = len(GARCH) // h
        assert k == pytest.approx(sst.kurtosis(GARCH[: m * h].reshape(m, h).sum(1)), rel=1e-10)


def test_leverage_effect_numpy():
    r = GARCH[:500]
    out = np.asarray(sty.leverage_effect(r, 5))
    den = np.mean(r**2) ** 2
    ref = [np.mean(r[:-k] * r[k:] ** 2) / den for k in range(1, 6)]
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_report_pass_and_fail():
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(GARCH)]))
    vol = np.abs(np.concatenate([[0.0], GARCH])) * 1e4 + 1.0
    rep = sty.stylized_facts_report(prices, vol)
    assert rep["passed"] == {"heavy_tails": True, "no_linear_autocorrelation": True,
                             "volatility_clustering": True}
    assert rep["all_passed"] and rep["volume_volatility_corr"] > 0.9
    assert len(rep["acf"]) == 11 and set(rep["aggregational_kurtosis"]) == {1, 5, 20}
    gauss = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 4001)))
    rep2 = sty.stylized_facts_report(gauss)
    assert not rep2["passed"]["heavy_tails"]
    assert not rep2["passed"]["volatility_clustering"]
    assert rep2["passed"]["no_linear_autocorrelation"] and not rep2["all_passed"]
    # AR(1) returns violate the no-autocorrelation fact
    rng = np.random.default_rng(4)
    ar = np.zeros(4000)
    for t in range(1, 4000):
        ar[t] = 0.5 * ar[t - 1] + rng.normal(0, 0.01)
    rep3 = sty.stylized_facts_report(100 * np.exp(np.cumsum(np.concatenate([[0], ar]))))
    assert not rep3["passed"]["no_linear_autocorrelation"]


def test_vmap_over_seeds_equals_loop():
    xs = GARCH[:1200].reshape(4, 300)
    f = jax.jit(jax.vmap(lambda x: sty.acf_abs(x, 10)))
    np.testing.assert_allclose(f(xs), np.stack([sty.acf_abs(x, 10) for x in xs]), rtol=1e-12)
    k = jax.vmap(sty.excess_kurtosis)(xs)
    np.testing.assert_allclose(k, sst.kurtosis(xs, axis=1), rtol=1e-10)
    h = jax.vmap(lambda x: sty.hill_tail_index(x, 20))(xs)
    np.testing.assert_allclose(h, [sty.hill_tail_index(x, 20) for x in xs], rtol=1e-12)


def test_float32_accepted():
    x32 = GARCH[:500].astype(np.float32)
    out = sty.acf_abs(x32, 5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, sty.acf_abs(GARCH[:500], 5), rtol=1e-4, atol=1e-5)


def test_leverage_correlation_matches_scipy_and_zero_share():
    ref = sst.pearsonr(GARCH[:-1], np.abs(GARCH[1:]))[0]
    assert float(sty.leverage_correlation(GARCH, 1)) == pytest.approx(ref, rel=1e-10)
    ref3 = sst.pearsonr(GARCH[:-3], np.abs(GARCH[3:]))[0]
    assert float(sty.leverage_correlation(GARCH, 3)) == pytest.approx(ref3, rel=1e-10)
    with pytest.raises(ValueError, match="lag"):
        sty.leverage_correlation(GARCH[:3], 3)
    assert float(sty.zero_return_share(np.array([0.0, 1.0, -2.0, 0.0]))) == 0.5

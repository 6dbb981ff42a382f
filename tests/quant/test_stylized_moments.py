"""The moment set and the side-by-side report of quant.stylized, against numpy, scipy and
statsmodels (rtol 1e-10 unless stated)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sst
from statsmodels.tsa.stattools import acf as sm_acf

import quantmarl  # noqa: F401
from quantmarl.quant import stylized as sty

RNG = np.random.default_rng(7)
R = RNG.standard_t(4, 600) * 0.01
V = np.abs(R) * 1e4 + RNG.uniform(size=600)
NAMES = [n for n, _ in sty.MOMENTS]


def test_leverage_correlation_and_zero_share_by_hand():
    r = np.array([1.0, -2.0, 0.0, 3.0, -1.0, 0.0])
    want = np.corrcoef(r[:-1], np.abs(r[1:]))[0, 1]
    assert float(sty.leverage_correlation(r)) == pytest.approx(want, rel=1e-12)
    assert float(sty.leverage_correlation(r, 2)) == pytest.approx(
        np.corrcoef(r[:-2], np.abs(r[2:]))[0, 1], rel=1e-12)
    assert float(sty.zero_return_share(r)) == pytest.approx(2 / 6)


def test_moment_vector_matches_references():
    m = dict(zip(NAMES, np.asarray(sty.moment_vector(R, V)), strict=True))
    rho, rho_abs = sm_acf(R, nlags=10, fft=False), sm_acf(np.abs(R), nlags=50, fft=False)
    sums = R[:600 // 20 * 20].reshape(-1, 20).sum(1)
    a = np.sort(np.abs(R))[::-1]
    want = {
        "kurtosis_1": sst.kurtosis(R), "kurtosis_20": sst.kurtosis(sums), "acf_r_1": rho[1],
        "acf_r_2_10": np.max(np.abs(rho[2:])), "acf_abs_1": rho_abs[1],
        "acf_abs_10": rho_abs[10], "acf_abs_20": rho_abs[20], "acf_abs_50": rho_abs[50],
        "hill": 30 / np.sum(np.log(a[:30] / a[30])),  # k = 5% of 600
        "leverage": np.corrcoef(R[:-1], np.abs(R[1:]))[0, 1],
        "volume_corr": np.corrcoef(np.abs(R), V)[0, 1], "zero_share": 0.0,
    }
    assert set(want) == set(NAMES)
    for name in NAMES:
        assert m[name] == pytest.approx(want[name], rel=1e-10, abs=1e-12), name


def test_moment_vector_without_volume_and_too_short():
    assert np.isnan(np.asarray(sty.moment_vector(R))[NAMES.index("volume_corr")])
    with pytest.raises(ValueError, match="needs >= 100 returns"):
        sty.moment_vector(R[:99])


def test_side_by_side_identical_seeds_give_the_real_values():
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(R)]))
    vol = np.concatenate([[0.0], V])
    recs = sty.side_by_side(np.stack([prices] * 3), prices, np.stack([vol] * 3), vol)
    assert [r.name for r in recs] == NAMES
    for r in recs:
        assert r.n_seeds == 3
        assert r.sim_median == pytest.approx(r.real, rel=1e-12)
        assert r.sim_lo == pytest.approx(r.real, rel=1e-12)
        assert r.sim_hi == pytest.approx(r.real, rel=1e-12)


def test_side_by_side_spread_and_missing_volume():
    paths = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, (9, 301)), axis=1))
    recs = {r.name: r for r in sty.side_by_side(paths, paths[0], quantiles=(0.1, 0.9))}
    k = [sst.kurtosis(np.diff(np.log(p))) for p in paths]
    assert recs["kurtosis_1"].sim_median == pytest.approx(np.median(k), rel=1e-10)
    assert recs["kurtosis_1"].sim_lo == pytest.approx(np.quantile(k, 0.1), rel=1e-10)
    assert recs["kurtosis_1"].sim_hi == pytest.approx(np.quantile(k, 0.9), rel=1e-10)
    assert np.isnan(recs["volume_corr"].real) and np.isnan(recs["volume_corr"].sim_median)


@pytest.mark.parametrize("bad", [np.full(200, 0.0), np.array([1.0])])
def test_side_by_side_refuses_bad_prices(bad):
    good = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, 301)))
    with pytest.raises(ValueError, match="prices must be positive"):
        sty.side_by_side(good[None], bad)


def test_side_by_side_refuses_misaligned_volumes():
    good = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, 301)))
    with pytest.raises(ValueError, match="volumes must end with 300 steps"):
        sty.side_by_side(good[None], good, real_volumes=np.ones(50))

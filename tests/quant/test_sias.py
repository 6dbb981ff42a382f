"""Sias (2004) herding: correlations against numpy's, the own/others split by
construction. Tolerances: rtol 1e-12 for correlations; behavioural bounds stated."""

from __future__ import annotations

import numpy as np
import pytest

from quantmarl.quant.sias import sias


def _ratio(q):
    return (q > 0).sum(-1) / (q != 0).sum(-1)


def test_single_asset_beta_is_the_lag_correlation():
    q = np.random.default_rng(0).choice([-2, -1, 1, 3], size=(200, 12))
    res = sias(q)
    x = _ratio(q)
    assert res.beta == pytest.approx(np.corrcoef(x[1:], x[:-1])[0, 1], rel=1e-12)
    assert res.own + res.others == pytest.approx(res.beta, rel=1e-12)
    assert res.n_pairs.tolist() == [199] and np.isnan(res.t_stat)


def test_panel_beta_is_the_mean_cross_sectional_correlation():
    rng = np.random.default_rng(1)
    q = rng.choice([-1, 0, 1], size=(40, 8, 15), p=[0.4, 0.2, 0.4])
    res = sias(q)
    x = _ratio(q)
    ref = [np.corrcoef(x[t], x[t - 1])[0, 1] for t in range(1, 40)]
    np.testing.assert_allclose(res.beta_t, ref, rtol=1e-12)
    assert res.beta == pytest.approx(np.mean(ref), rel=1e-12)
    assert res.t_stat == pytest.approx(np.mean(ref) / (np.std(ref, ddof=1) / np.sqrt(39)))


def test_own_persistence_is_not_herding():
    """Independent traders who keep their side: the ratio is autocorrelated through
    ``own``, and ``others`` stays near 0."""
    rng = np.random.default_rng(2)
    side = rng.choice([-1, 1], size=20)
    rows = []
    for _ in range(3000):
        side = np.where(rng.uniform(size=20) < 0.1, -side, side)
        rows.append(side.copy())
    res = sias(np.array(rows))
    assert res.own > 0.5 and abs(res.others) < 0.05


def test_following_others_is_herding():
    """Traders copy the previous period's majority of the others: ``others`` dominates."""
    rng = np.random.default_rng(3)
    prev = rng.choice([-1, 1], size=20)
    rows = []
    for _ in range(3000):
        majority = np.sign(prev.sum() - prev + 0.5)  # the others' majority, per trader
        prev = np.where(rng.uniform(size=20) < 0.6, majority, rng.choice([-1, 1], 20))
        rows.append(prev.copy())
    res = sias(np.array(rows))
    assert res.others > 0.3 and res.others > 5 * abs(res.own)


def test_thin_cells_and_errors():
    q = np.zeros((5, 6))
    q[::2, :3] = 1
    q[1::2, :2] = -1
    assert np.isnan(sias(q, min_traders=3).beta)  # odd periods have 2 < 3 traders
    with pytest.raises(ValueError, match="signed_qty"):
        sias(np.zeros(5))
    with pytest.raises(ValueError, match="2 periods"):
        sias(np.zeros((1, 3)))

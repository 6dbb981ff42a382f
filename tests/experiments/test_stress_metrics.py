"""Stress measures on hand-made price paths."""

from __future__ import annotations

import numpy as np
import pytest

from experiments import stress_metrics as sm


def _path():
    # 10 calm steps at 100 (+-1), a scheduled 10% crash at step 10 that overshoots to 85,
    # then a rebound and a second dip
    calm = [100, 101, 100, 99, 100, 101, 100, 99, 100, 100]
    return np.array(calm + [90, 85, 88, 95, 98, 96, 99, 100, 100, 100], float)


def test_overshoot_beyond_the_scheduled_move():
    p = _path()
    # ref = 100; scheduled level 90; trough 85 -> overshoot 0.05
    assert sm.reference_level(p, 10, 10) == pytest.approx(100.0)
    assert sm.overshoot(p, 10, 10, 5, 0.10) == pytest.approx(0.05)
    assert sm.overshoot(p, 10, 10, 5, 0.20) == pytest.approx(-0.05)  # did not reach it


def test_drawdown_after_the_scheduled_steps():
    p = _path()
    # from step 12 (88): peak 98 at step 14, trough 96 -> 2/98
    assert sm.drawdown_after(p, 12) == pytest.approx(2 / 98)
    assert sm.drawdown_after(np.array([1.0, 2.0, 3.0]), 0) == 0.0


def test_log_amplification_parts():
    p = _path()
    ratio, pre, post = sm.log_amplification(p, 10, 8, 5)
    r = np.diff(np.log(p))
    assert pre == pytest.approx(r[2:10].std(ddof=1))
    assert post == pytest.approx(r[10:15].std(ddof=1))
    assert ratio == pytest.approx(np.log(post) - np.log(pre))
    flat = np.full(20, 100.0)
    flat[12] = 90.0
    assert np.isnan(sm.log_amplification(flat, 10, 8, 5)[0])


def test_volatility_after_and_batching():
    p = np.stack([_path(), _path() * 2])
    v = sm.volatility_after(p, 12, 6)
    r = np.diff(np.log(_path()))[12:18]
    np.testing.assert_allclose(v, [r.std(ddof=1)] * 2)
    assert sm.overshoot(p, 10, 10, 5, 0.1).shape == (2,)

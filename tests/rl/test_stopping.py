"""The early-stopping rule and the learning curve as numbers, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from quantmarl.rl.stopping import mean_return, stop_update


def test_rule_fires_after_patience_updates_without_improvement():
    r = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    # window 2: averages from update 2 on: 1.5, 2.5, 3, 3, 3, 3 -> best 3 at update 4,
    # then 3 updates without improvement: fires at update 7
    assert stop_update(r, window=2, patience=3, tol=0.0) == 7
    assert stop_update(r, window=2, patience=4, tol=0.0) is None
    assert stop_update(np.arange(20.0), window=3, patience=2, tol=0.0) is None  # rising
    # a rise of exactly tol does not count; a rise of more resets the count
    assert stop_update(np.array([0.0, 1.0, 0.5]), window=1, patience=2, tol=1.0) == 3
    assert stop_update(np.array([0.0, 1.0, 1.5, 1.5]), window=1, patience=2, tol=1.0) is None
    assert stop_update(r, window=2, patience=0, tol=0.0) is None  # off


def test_updates_without_episodes_are_skipped():
    r = np.array([np.nan, 1.0, np.nan, np.nan, 1.0, 1.0])
    # window 1: update 1 has no average; 2 sets the best; 3-4 skipped; 5, 6 do not improve
    assert stop_update(r, window=1, patience=2, tol=0.0) == 6


def test_mean_return_over_seeds_and_groups():
    metrics = {"a": {"episode_return": np.array([[1.0, np.nan], [3.0, np.nan]])},
               "b": {"episode_return": np.array([[5.0, 2.0], [np.nan, np.nan]])}}
    got = mean_return(metrics)
    np.testing.assert_allclose(got, [3.0, 2.0])
    assert np.isnan(mean_return({"a": {"episode_return": np.array([[np.nan]])}})[0])


def test_curve_summary_by_hand():
    from quantmarl.rl import history

    ret = np.array([[1.0, 2.0, 3.0, np.nan, 5.0, 6.0],  # NaN: carried forward as 3
                    [0.0, 1.0, 1.0, 1.0, 2.0, 2.0]])
    metrics = {"g": {"episode_return": ret, "pnl": np.full((2, 6), 0.01)}}
    s = history.curve_summary(metrics, window=2, stopped_at=None)["g"]
    assert s["final_return"]["mean"] == pytest.approx((5.5 + 2.0) / 2)
    # moving averages: seed 0 best (5+6)/2, seed 1 best (2+2)/2
    assert s["best_return"]["mean"] == pytest.approx((5.5 + 2.0) / 2)
    # the mean curve over seeds is highest in the window ending at update 6
    assert s["best_update"] == 6 and s["updates"] == 6 and s["stopped_at"] is None
    # t interval over 2 seeds: mean +- 12.706 * sd / sqrt(2)
    half = 12.7062047 * np.std([5.5, 2.0], ddof=1) / np.sqrt(2)
    assert s["final_return"]["ci95"][1] == pytest.approx(3.75 + half, rel=1e-6)
    assert s["final_pnl"]["mean"] == pytest.approx(0.01)
    text = history.curve_text({"g": {**s, "stopped_at": 4}})
    assert "final 3.75 [" in text and "final PnL 1.000 [1.000, 1.000]%" in text
    assert "stopped at update 4" in text

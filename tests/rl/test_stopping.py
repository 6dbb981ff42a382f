"""The early-stopping rule, by hand."""

from __future__ import annotations

import numpy as np

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

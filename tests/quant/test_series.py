"""Host-side price-path helpers: mid prices, log returns, NaN-aware mean."""

from __future__ import annotations

import warnings

import numpy as np

from quantmarl.quant import series


def test_mid_prices_fall_back_to_close_where_a_side_is_missing():
    bid = np.array([[99, 0], [100, 101]], np.int64)
    ask = np.array([[101, 105], [0, 103]], np.int64)
    close = np.array([[100, 104], [102, 102]], np.int64)
    mid = series.mid_prices(bid, ask, close)
    assert mid.dtype == np.float64
    np.testing.assert_array_equal(mid, [[100.0, 104.0], [102.0, 102.0]])


def test_log_returns_along_time_axis():
    p = np.array([[100.0, 10.0], [110.0, 10.0], [99.0, 20.0]])  # [T, A]
    r = series.log_returns(p)
    np.testing.assert_allclose(r, np.log(p[1:] / p[:-1]))
    assert r.shape == (2, 2)
    assert np.isfinite(series.log_returns(np.array([[0.0], [1.0]]))).all()  # floored at 1e-12


def test_nanmean_ignores_non_finite_and_does_not_warn():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.inf, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = series.nanmean(x, axis=1)
    assert m[0] == 2.0 and np.isnan(m[1])
    assert series.nanmean(x) == 2.0

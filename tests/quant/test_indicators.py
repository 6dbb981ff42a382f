"""Indicators against TA-Lib (rtol 1e-9, atol 1e-12; identical NaN warm-up)."""

from __future__ import annotations

from functools import partial

import jax
import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

import quantmarl  # noqa: F401  (x64)
from quantmarl.quant import indicators as ind
from tests.quant.helpers import assert_nan_close, random_walk

RTOL, ATOL = 1e-9, 1e-12
LENGTHS = [5, 34, 257, 2000]


def _hlc(seed: int, length: int):
    rng = np.random.default_rng(seed + 1000)
    close = random_walk(seed, length)
    high = close + rng.uniform(0.0, 1.5, length)
    low = close - rng.uniform(0.0, 1.5, length)
    return high, low, close


@pytest.mark.parametrize("length", LENGTHS)
def test_against_talib(length):
    x = random_walk(length, length)
    assert_nan_close(ind.sma(x, 10), talib.SMA(x, 10), RTOL, ATOL)
    assert_nan_close(ind.ema(x, 10), talib.EMA(x, 10), RTOL, ATOL)
    assert_nan_close(ind.ema(x, 1), talib.EMA(x, 1), RTOL, ATOL)
    assert_nan_close(ind.rsi(x, 14), talib.RSI(x, 14), RTOL, ATOL)
    assert_nan_close(ind.rsi(x, 3), talib.RSI(x, 3), RTOL, ATOL)
    for ours, ref in zip(ind.macd(x), talib.MACD(x, 12, 26, 9), strict=True):
        assert_nan_close(ours, ref, RTOL, ATOL)
    for ours, ref in zip(ind.bollinger(x, 20, 2.0), talib.BBANDS(x, 20, 2.0, 2.0, 0), strict=True):
        assert_nan_close(ours, ref, RTOL, ATOL)
    for ours, ref in zip(ind.bollinger(x, 5, 1.5), talib.BBANDS(x, 5, 1.5, 1.5, 0), strict=True):
        assert_nan_close(ours, ref, RTOL, ATOL)
    h, lo, c = _hlc(length, length)
    assert_nan_close(ind.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14), RTOL, ATOL)
    assert_nan_close(ind.atr(h, lo, c, 1), talib.ATR(h, lo, c, 1), RTOL, ATOL)
    assert_nan_close(ind.true_range(h, lo, c), talib.TRANGE(h, lo, c), RTOL, ATOL)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(5, 13, 4), (13, 5, 4), (3, 3, 1)])
def test_macd_params_and_swap(fast, slow, signal):
    """TA-Lib swaps fast/slow when slow < fast; fast EMA is seeded at index slow-1."""
    x = random_walk(7, 300)
    for ours, ref in zip(ind.macd(x, fast, slow, signal), talib.MACD(x, fast, slow, signal),
                         strict=True):
        assert_nan_close(ours, ref, RTOL, ATOL)


def test_macd_first_valid_index():
    x = random_walk(3, 100)
    line, sig, hist = ind.macd(x)
    for a in (line, sig, hist):
        a = np.asarray(a)
        assert np.isnan(a[:33]).all() and np.isfinite(a[33:]).all()
    # the fast EMA is NOT the plain EMA(12): plain EMA12 - EMA26 differs at index 33
    plain = np.asarray(ind.ema(x, 12) - ind.ema(x, 26))[33]
    assert abs(plain - float(line[33])) > 1e-6


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=120, max_size=120))
def test_hypothesis_ema_rsi_bbands(steps):
    x = 50.0 + np.cumsum(np.asarray(steps))
    assert_nan_close(ind.ema(x, 9), talib.EMA(x, 9), RTOL, ATOL)
    assert_nan_close(ind.rsi(x, 14), talib.RSI(x, 14), RTOL, ATOL)
    # bands can collapse to the middle on flat windows: compare with absolute slack
    for ours, ref in zip(ind.bollinger(x, 20, 2.0), talib.BBANDS(x, 20, 2.0, 2.0, 0), strict=True):
        assert_nan_close(ours, ref, RTOL, 1e-6)


def test_flat_series_rsi_is_zero_like_talib():
    x = np.full(40, 10.0)
    assert_nan_close(ind.rsi(x, 14), talib.RSI(x, 14), RTOL, ATOL)
    assert float(ind.rsi(x, 14)[20]) == 0.0


def test_rolling_volatility_matches_numpy_and_is_stable():
    r = np.random.default_rng(0).normal(0.0, 0.01, 500)
    out = np.asarray(ind.rolling_volatility(r, 21))
    ref = np.array([np.nan] * 20 + [np.std(r[i - 20 : i + 1], ddof=1) for i in range(20, 500)])
    assert_nan_close(out, ref, rtol=1e-10)
    ann = np.asarray(ind.rolling_volatility(r, 21, periods_per_year=252))
    assert_nan_close(ann, ref * np.sqrt(252), rtol=1e-10)
    # huge offset: a cumsum-of-squares method would lose everything here
    x = 1e8 + np.random.default_rng(1).normal(0.0, 1.0, 500)
    ref2 = np.array([np.nan] * 20 + [np.std(x[i - 20 : i + 1]) for i in range(20, 500)])
    assert_nan_close(ind.rolling_std(x, 21), ref2, rtol=1e-6)


def test_vwap():
    p = np.array([10.0, 11.0, 12.0, 11.0])
    v = np.array([0.0, 2.0, 1.0, 1.0])
    out = np.asarray(ind.vwap(p, v))
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [11.0, 34.0 / 3.0, 45.0 / 4.0], rtol=1e-14)


def test_short_series_all_nan():
    x = random_walk(0, 10)
    for a in (ind.sma(x, 20), ind.ema(x, 20), ind.rsi(x, 14), *ind.macd(x), *ind.bollinger(x)):
        assert np.isnan(np.asarray(a)).all()


def test_float32_accepted():
    x = random_walk(4, 200).astype(np.float32)
    out = ind.ema(x, 10)
    assert out.dtype == np.float32
    assert_nan_close(out, talib.EMA(x.astype(np.float64), 10), rtol=1e-5)


def test_invalid_period():
    with pytest.raises(ValueError, match="n must be"):
        ind.sma(np.ones(10), 0)


def test_jit_and_vmap_over_seeds_equals_loop():
    xs = np.stack([random_walk(s, 128) for s in range(4)])
    hs = xs + 0.5
    ls = xs - 0.5
    fns = {
        "sma": partial(ind.sma, n=10),
        "ema": partial(ind.ema, n=10),
        "rsi": partial(ind.rsi, n=14),
        "macd": lambda x: ind.macd(x)[2],
        "bb": lambda x: ind.bollinger(x)[0],
        "vol": partial(ind.rolling_volatility, n=10),
    }
    for name, f in fns.items():
        batched = np.asarray(jax.jit(jax.vmap(f))(xs))
        loop = np.stack([np.asarray(f(x)) for x in xs])
        assert_nan_close(batched, loop, rtol=1e-12, atol=1e-12), name
    atr_b = np.asarray(jax.vmap(partial(ind.atr, n=14))(hs, ls, xs))
    atr_l = np.stack([np.asarray(ind.atr(h, lo, c, 14)) for h, lo, c in zip(hs, ls, xs,
                                                                          strict=True)])
    assert_nan_close(atr_b, atr_l, rtol=1e-12)

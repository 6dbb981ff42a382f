"""Host-side (NumPy float64) helpers for recorded price paths: mid prices, log
returns and a NaN-aware mean. Shapes: ``[..., T, A]`` (time, assets) unless said."""

from __future__ import annotations

import numpy as np

__all__ = ["log_returns", "mid_prices", "nanmean"]


def mid_prices(best_bid, best_ask, close) -> np.ndarray:
    """float64 [..., T, A] (the inputs' units, e.g. ticks): the mid where both sides are
    quoted (``best_bid > 0`` and ``best_ask > 0``), else the close."""
    bid = np.asarray(best_bid, np.float64)
    ask = np.asarray(best_ask, np.float64)
    close = np.asarray(close, np.float64)
    return np.where((bid > 0) & (ask > 0), 0.5 * (bid + ask), close)


def log_returns(prices, axis: int = -2) -> np.ndarray:
    """float64 log price changes along ``axis`` (time; default -2 for [..., T, A]);
    prices are floored at 1e-12 before the log."""
    return np.diff(np.log(np.maximum(np.asarray(prices, np.float64), 1e-12)), axis=axis)


def nanmean(x, axis=None) -> np.ndarray:
    """float64 mean of the finite values along ``axis``; NaN (no warning) where there
    are none."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    n = ok.sum(axis=axis)
    s = np.where(ok, x, 0.0).sum(axis=axis)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)

"""Shared test helpers for the quant layer."""

from __future__ import annotations

import numpy as np


def random_walk(seed: int, length: int, start: float = 100.0, scale: float = 1.0) -> np.ndarray:
    """Positive-ish Gaussian random walk, float64 [length]."""
    rng = np.random.default_rng(seed)
    return start + np.cumsum(rng.normal(0.0, scale, length))


def assert_nan_close(actual, desired, rtol: float, atol: float = 0.0) -> None:
    """NaN masks must be identical; finite values close within rtol/atol."""
    a = np.asarray(actual, dtype=float)
    d = np.asarray(desired, dtype=float)
    assert a.shape == d.shape, (a.shape, d.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(d), err_msg="NaN warm-up differs")
    ok = ~np.isnan(d)
    np.testing.assert_allclose(a[ok], d[ok], rtol=rtol, atol=atol)

"""The simulated-method-of-moments distance between simulated markets and a real series.

Moments are :data:`quantmarl.quant.stylized.MOMENTS`, computed with the same estimators
on every series (one per seed and asset) and on the real series. A candidate's moment is
its median over the common seeds (robust: one seed's crash cannot make the kurtosis).
The loss is diagonal SMM::

    loss = mean over used moments m of ((median_s sim[s, m] - real[m]) / scale[m])^2

with ``scale[m]`` the sampling spread of moment m across seeds: the median, over the
initial design's candidates, of the std across seeds, floored at
``0.005 + 0.05 |real[m]|`` (so a moment that barely varies cannot dominate). The scale is
fixed after the design, so losses of all rounds are comparable. A candidate with a
non-finite moment (e.g. a price that never moves) gets an infinite loss.
"""

from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.quant.stylized import MOMENTS, moment_vector

__all__ = ["MOMENT_NAMES", "loss", "moment_mask", "series_moments", "spread_scale"]

MOMENT_NAMES = tuple(name for name, _ in MOMENTS)
SCALE_FLOOR = (0.005, 0.05)  # absolute floor, share of |real|


@partial(jax.jit, static_argnames="hill_fraction")
def series_moments(close: jax.Array, volume: jax.Array, hill_fraction: float = 0.05):
    """float [..., S * A, M]: moments of every seed's and asset's close series.

    ``close`` int64 [..., S, T, A] ticks and ``volume`` int64 [..., S, T, A] lots (the
    :class:`experiments.series.MarketSeries` fields); returns at step t are aligned with
    the volume of step t."""
    lead = close.shape[:-3]
    s, t, a = close.shape[-3:]

    def flat(x):
        return jnp.moveaxis(x, -1, -2).reshape((-1, s * a, t))

    r = jnp.diff(jnp.log(flat(close).astype(jnp.float64)), axis=-1)
    v = flat(volume)[..., 1:].astype(jnp.float64)
    one = jax.vmap(jax.vmap(lambda ri, vi: moment_vector(ri, vi, hill_fraction)))
    return one(r, v).reshape((*lead, s * a, len(MOMENTS)))


def moment_mask(real: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """bool [M]: the moments in ``names`` that the real series has (finite)."""
    unknown = sorted(set(names) - set(MOMENT_NAMES))
    if unknown:
        raise ValueError(f"moments: unknown {unknown}; accepted: {', '.join(MOMENT_NAMES)}")
    return np.array([n in names for n in MOMENT_NAMES]) & np.isfinite(real)


def spread_scale(sim: np.ndarray, real: np.ndarray) -> np.ndarray:
    """float64 [M]: the per-moment scale from ``sim`` [P, N, M] (N >= 2 seeds)."""
    sim = np.asarray(sim, np.float64)
    if sim.shape[-2] < 2:
        raise ValueError(f"the spread across seeds needs >= 2 series, got {sim.shape[-2]}")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN moments: the floor applies
        sd = np.nanmedian(np.std(sim, axis=-2, ddof=1), axis=0)
    floor = SCALE_FLOOR[0] + SCALE_FLOOR[1] * np.abs(np.nan_to_num(real))
    return np.maximum(np.nan_to_num(sd, nan=0.0), floor)


def loss(sim: np.ndarray, real: np.ndarray, scale: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 [P]: the SMM loss of each candidate's moments ``sim`` [P, N, M]."""
    mid = np.median(np.asarray(sim, np.float64), axis=-2)
    d = ((mid - real) / scale)[..., mask]
    out = np.mean(d**2, axis=-1)
    return np.where(np.isfinite(out), out, np.inf)

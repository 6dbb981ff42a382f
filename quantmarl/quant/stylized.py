"""Stylised facts of returns (Cont 2001) as jitted pieces plus a report.

All array functions take 1-D series (``vmap`` over seeds/assets); lag counts
and horizons are static.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from quantmarl.quant._cast import as_float

__all__ = [
    "excess_kurtosis",
    "hill_tail_index",
    "acf",
    "acf_abs",
    "acf_squared",
    "volume_volatility_correlation",
    "aggregational_gaussianity",
    "leverage_effect",
    "leverage_correlation",
    "zero_return_share",
    "DEFAULT_THRESHOLDS",
    "stylized_facts_report",
    "MOMENTS",
    "MomentRecord",
    "moment_vector",
    "side_by_side",
]


@jax.jit
def excess_kurtosis(x: Array) -> Array:
    """Excess kurtosis ``m4 / m2^2 - 3`` with biased moments (``scipy.stats.kurtosis`` default)."""
    x = as_float(x)
    d = x - jnp.mean(x)
    m2 = jnp.mean(d**2)
    return jnp.mean(d**4) / m2**2 - 3.0


@partial(jax.jit, static_argnames="k")
def hill_tail_index(x: Array, k: int) -> Array:
    """Hill (1975) tail index of ``|x|`` from the ``k`` largest order statistics.

    ``alpha = k / sum_{i=1..k} log(X_(i) / X_(k+1))`` with ``X_(1) >= X_(2) >= ...``.
    Needs ``k < len(x)``. [T] -> [].
    """
    a = jnp.sort(jnp.abs(as_float(x)))[::-1]
    if not 0 < k < a.shape[-1]:
        raise ValueError(f"k must satisfy 0 < k < len(x) = {a.shape[-1]}, got {k}")
    return k / jnp.sum(jnp.log(a[:k] / a[k]))


@partial(jax.jit, static_argnames="nlags")
def acf(x: Array, nlags: int) -> Array:
    """Sample autocorrelation at lags ``0..nlags`` (``statsmodels...acf(adjusted=False)``).

    ``rho_k = sum_{t} (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2``. [T] -> [nlags + 1].
    """
    x = as_float(x)
    T = x.shape[-1]
    d = x - jnp.mean(x)
    dp = jnp.concatenate([d, jnp.zeros((nlags,), d.dtype)])
    lagged = jax.vmap(lambda k: lax.dynamic_slice_in_dim(dp, k, T))(jnp.arange(nlags + 1))
    c = lagged @ d
    return c / c[0]


@partial(jax.jit, static_argnames="nlags")
def acf_abs(returns: Array, nlags: int) -> Array:
    """ACF of ``|r|`` at lags ``0..nlags`` (volatility clustering)."""
    return acf(jnp.abs(as_float(returns)), nlags)


@partial(jax.jit, static_argnames="nlags")
def acf_squared(returns: Array, nlags: int) -> Array:
    """ACF of ``r^2`` at lags ``0..nlags`` (volatility clustering)."""
    return acf(as_float(returns) ** 2, nlags)


def _pearson(a: Array, b: Array) -> Array:
    da, db = a - jnp.mean(a), b - jnp.mean(b)
    return jnp.sum(da * db) / jnp.sqrt(jnp.sum(da * da) * jnp.sum(db * db))


@jax.jit
def volume_volatility_correlation(returns: Array, volumes: Array) -> Array:
    """Pearson correlation of ``|r_t|`` and ``volume_t`` (same length T). [T], [T] -> []."""
    return _pearson(jnp.abs(as_float(returns)), as_float(volumes))


@partial(jax.jit, static_argnames="horizons")
def aggregational_gaussianity(returns: Array, horizons: tuple[int, ...] = (1, 5, 20)) -> Array:
    """Excess kurtosis of non-overlapping ``h``-period summed returns, per horizon.

    Log returns add up over time; Cont (2001): kurtosis falls towards 0 as ``h``
    grows. Trailing periods that do not fill a block are dropped. [T] -> [len(horizons)].
    """
    r = as_float(returns)
    out = []
    for h in horizons:
        m = r.shape[-1] // h
        out.append(excess_kurtosis(jnp.sum(r[: m * h].reshape(m, h), axis=-1)))
    return jnp.stack(out)


@partial(jax.jit, static_argnames="max_lag")
def leverage_effect(returns: Array, max_lag: int = 10) -> Array:
    """Leverage correlation ``L(tau) = E[r_t r_{t+tau}^2] / E[r_t^2]^2`` (Bouchaud et al. 2001).

    Sample means over the available pairs for ``tau = 1..max_lag``; negative
    values mean falls raise later volatility. [T] -> [max_lag].
    """
    r = as_float(returns)
    T = r.shape[-1]
    rp = jnp.concatenate([r, jnp.zeros((max_lag,), r.dtype)])
    denom = jnp.mean(r**2) ** 2

    def one(tau):
        fut = lax.dynamic_slice_in_dim(rp, tau, T)
        return jnp.sum(r * fut**2) / (T - tau) / denom

    return jax.vmap(one)(jnp.arange(1, max_lag + 1))


@partial(jax.jit, static_argnames="lag")
def leverage_correlation(returns: Array, lag: int = 1) -> Array:
    """Pearson correlation of ``r_t`` and ``|r_{t+lag}|`` (negative: falls raise later
    volatility). [T] -> [], needs ``0 < lag < T - 1``."""
    r = as_float(returns)
    if not 0 < lag < r.shape[-1] - 1:
        raise ValueError(f"lag must satisfy 0 < lag < len(returns) - 1, got {lag}")
    return _pearson(r[:-lag], jnp.abs(r[lag:]))


@jax.jit
def zero_return_share(returns: Array) -> Array:
    """Share of exactly zero returns (steps where the price did not move). [T] -> []."""
    return jnp.mean((as_float(returns) == 0).astype(jnp.result_type(float)))


DEFAULT_THRESHOLDS: dict[str, float] = {
    "kurtosis_min": 1.0,  # heavy tails: excess kurtosis of 1-period log returns above this
    "acf_max": 0.1,  # absence of linear autocorrelation: max |rho_k(r)|, k=1..nlags, below this
    "abs_acf_min": 0.1,  # volatility clustering: mean rho_k(|r|), k=1..nlags, above this
}


def stylized_facts_report(
    prices: Array,
    volumes: Array | None = None,
    nlags: int = 10,
    hill_fraction: float = 0.05,
    horizons: tuple[int, ...] = (1, 5, 20),
    thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Stylised-facts summary of a price path (Cont 2001), with pass/fail flags.

    ``prices`` [T+1] (positive), ``volumes`` [T+1] or [T] (per-period volume;
    the last T are aligned with the log returns). Returns a dict of Python
    floats/lists with keys ``excess_kurtosis``, ``hill_tail_index``, ``acf``,
    ``acf_abs``, ``acf_squared``, ``aggregational_kurtosis``, ``leverage``,
    ``volume_volatility_corr`` (if volumes), ``passed`` (dict of bools for
    ``heavy_tails``, ``no_linear_autocorrelation``, ``volatility_clustering``)
    and ``all_passed``. Thresholds: :data:`DEFAULT_THRESHOLDS` updated by ``thresholds``.
    """
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    p = jnp.asarray(prices, jnp.result_type(float))
    r = jnp.diff(jnp.log(p))
    k = max(1, int(hill_fraction * r.shape[-1]))
    rho = np.asarray(acf(r, nlags))
    rho_abs = np.asarray(acf_abs(r, nlags))
    out: dict[str, Any] = {
        "n_returns": int(r.shape[-1]),
        "excess_kurtosis": float(excess_kurtosis(r)),
        "hill_tail_index": float(hill_tail_index(r, k)),
        "acf": rho.tolist(),
        "acf_abs": rho_abs.tolist(),
        "acf_squared": np.asarray(acf_squared(r, nlags)).tolist(),
        "aggregational_kurtosis": dict(
            zip(horizons, np.asarray(aggregational_gaussianity(r, horizons)).tolist(), strict=True)
        ),
        "leverage": np.asarray(leverage_effect(r, nlags)).tolist(),
        "thresholds": th,
    }
    if volumes is not None:
        v = jnp.asarray(volumes, r.dtype)[-r.shape[-1] :]
        out["volume_volatility_corr"] = float(volume_volatility_correlation(r, v))
    passed = {
        "heavy_tails": out["excess_kurtosis"] > th["kurtosis_min"],
        "no_linear_autocorrelation": float(np.max(np.abs(rho[1:]))) < th["acf_max"],
        "volatility_clustering": float(np.mean(rho_abs[1:])) > th["abs_acf_min"],
    }
    out["passed"] = passed
    out["all_passed"] = all(passed.values())
    return out


#: the moments of :func:`moment_vector` / :func:`side_by_side`, in order: (name, meaning)
MOMENTS: tuple[tuple[str, str], ...] = (
    ("kurtosis_1", "excess kurtosis of 1-step log returns"),
    ("kurtosis_20", "excess kurtosis of non-overlapping 20-step sums"),
    ("acf_r_1", "ACF(r) at lag 1"),
    ("acf_r_2_10", "max |ACF(r)| over lags 2-10"),
    ("acf_abs_1", "ACF(|r|) at lag 1"),
    ("acf_abs_10", "ACF(|r|) at lag 10"),
    ("acf_abs_20", "ACF(|r|) at lag 20"),
    ("acf_abs_50", "ACF(|r|) at lag 50"),
    ("hill", "Hill tail index of |r| (top hill_fraction)"),
    ("leverage", "corr(r_t, |r_t+1|)"),
    ("volume_corr", "corr(|r_t|, volume_t) (NaN without volume)"),
    ("zero_share", "share of zero returns"),
)
MIN_MOMENT_RETURNS = 100  # returns per series that :func:`moment_vector` needs (lag 50, 20-sums)


@partial(jax.jit, static_argnames="hill_fraction")
def moment_vector(returns: Array, volumes: Array | None = None,
                  hill_fraction: float = 0.05) -> Array:
    """The :data:`MOMENTS` of one return series, in order. ``returns`` [T] (T >= 100),
    ``volumes`` [T] aligned with the returns or ``None`` -> float [len(MOMENTS)]."""
    r = as_float(returns)
    n = r.shape[-1]
    if n < MIN_MOMENT_RETURNS:
        raise ValueError(f"moment_vector needs >= {MIN_MOMENT_RETURNS} returns, got {n}")
    rho, rho_abs = acf(r, 10), acf_abs(r, 50)
    vol = (jnp.nan if volumes is None
           else volume_volatility_correlation(r, as_float(volumes).astype(r.dtype)))
    return jnp.stack([
        excess_kurtosis(r), aggregational_gaussianity(r, (20,))[0], rho[1],
        jnp.max(jnp.abs(rho[2:])), rho_abs[1], rho_abs[10], rho_abs[20], rho_abs[50],
        hill_tail_index(r, max(1, int(hill_fraction * n))), leverage_correlation(r),
        jnp.asarray(vol, r.dtype), zero_return_share(r),
    ])


@dataclass(frozen=True)
class MomentRecord:
    """One moment, real against simulated (median and quantile band across seeds)."""

    name: str
    meaning: str
    real: float
    sim_median: float
    sim_lo: float  # lower quantile across seeds (default 5%)
    sim_hi: float  # upper quantile across seeds (default 95%)
    n_seeds: int


def _returns_and_volume(prices: Any, volumes: Any) -> tuple[Array, Array | None]:
    p = np.asarray(prices, np.float64)
    if p.ndim < 1 or p.shape[-1] < 2 or not np.all(p > 0):
        raise ValueError(f"prices must be positive with >= 2 steps, got shape {p.shape}")
    r = np.diff(np.log(p), axis=-1)
    if volumes is None:
        return jnp.asarray(r), None
    v = np.asarray(volumes, np.float64)[..., -r.shape[-1]:]
    if v.shape != r.shape:
        raise ValueError(f"volumes must end with {r.shape[-1]} steps like the returns, "
                         f"got shape {np.shape(volumes)} for prices {p.shape}")
    return jnp.asarray(r), jnp.asarray(v)


def side_by_side(
    sim_prices: Any, real_prices: Any, sim_volumes: Any = None, real_volumes: Any = None,
    hill_fraction: float = 0.05, quantiles: tuple[float, float] = (0.05, 0.95),
) -> tuple[MomentRecord, ...]:
    """Real against simulated stylised facts, one :class:`MomentRecord` per :data:`MOMENTS`.

    ``sim_prices`` [S, T+1] (one row per seed), ``real_prices`` [T'+1] (positive);
    volumes like :func:`stylized_facts_report` (the last T aligned with the returns).
    The volume moment is NaN on a side without volumes. Each side keeps its own length.
    """
    sim_r, sim_v = _returns_and_volume(np.atleast_2d(sim_prices), sim_volumes)
    real_r, real_v = _returns_and_volume(real_prices, real_volumes)
    if real_r.ndim != 1:
        raise ValueError(f"real_prices must be 1-D, got shape {np.shape(real_prices)}")
    real = np.asarray(moment_vector(real_r, real_v, hill_fraction))
    sim = np.asarray(jax.vmap(lambda r, v: moment_vector(r, v, hill_fraction))(sim_r, sim_v))
    lo, med, hi = np.quantile(sim, (quantiles[0], 0.5, quantiles[1]), axis=0)
    return tuple(
        MomentRecord(name, meaning, float(real[i]), float(med[i]), float(lo[i]), float(hi[i]),
                     int(sim.shape[0]))
        for i, (name, meaning) in enumerate(MOMENTS)
    )

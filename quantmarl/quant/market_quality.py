"""Market-quality measures: spread, depth, shock response, price impact.

Inputs are float arrays handed over by callers (convert ticks/lots first).
Missing book sides should be passed as NaN. Shock times are dynamic ints;
window lengths are static.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax

from quantmarl.quant._cast import as_float
from quantmarl.quant._ols import OLSResult, ols

__all__ = [
    "spread",
    "relative_spread",
    "depth",
    "volatility_amplification",
    "RecoveryResult",
    "recovery_time",
    "kyle_lambda",
    "amihud_illiquidity",
    "realised_volatility",
]


@jax.jit
def spread(best_bid: Array, best_ask: Array) -> Array:
    """Quoted spread ``ask - bid`` (same units as the inputs), elementwise."""
    return as_float(best_ask) - as_float(best_bid)


@jax.jit
def relative_spread(best_bid: Array, best_ask: Array) -> Array:
    """Relative quoted spread ``(ask - bid) / mid`` with ``mid = (ask + bid) / 2``."""
    b, a = as_float(best_bid), as_float(best_ask)
    return (a - b) / (0.5 * (a + b))


@partial(jax.jit, static_argnames="levels")
def depth(bid_qty: Array, ask_qty: Array, levels: int | None = None) -> Array:
    """Displayed depth: total quantity on the first ``levels`` price levels of both sides.

    ``bid_qty``, ``ask_qty``: [..., L] ladders ordered from the touch outward
    (NaN or 0 for empty levels). Returns [...].
    """
    b, a = as_float(bid_qty)[..., :levels], as_float(ask_qty)[..., :levels]
    return jnp.nansum(b, axis=-1) + jnp.nansum(a, axis=-1)


@partial(jax.jit, static_argnames=("before", "after", "ddof"))
def volatility_amplification(
    returns: Array, shock_t: Array, before: int, after: int, ddof: int = 1
) -> Array:
    """Post-shock over pre-shock volatility ``std(r[t0:t0+after]) / std(r[t0-before:t0])``.

    ``shock_t`` (t0) indexes ``returns`` [T]; windows are clipped to the
    array bounds (shift, not truncate), so keep ``before <= t0 <= T - after``. [] result.
    """
    r = as_float(returns)
    t0 = jnp.asarray(shock_t)
    pre = lax.dynamic_slice_in_dim(r, t0 - before, before)
    post = lax.dynamic_slice_in_dim(r, t0, after)
    return jnp.std(post, ddof=ddof) / jnp.std(pre, ddof=ddof)


class RecoveryResult(NamedTuple):
    """``steps``: periods from the shock to recovery (or to the end if censored);
    ``censored``: True if the price had not recovered by the end of the series;
    ``reference``: the pre-shock level."""

    steps: Array
    censored: Array
    reference: Array


@partial(jax.jit, static_argnames=("pre_window", "hold"))
def recovery_time(
    prices: Array, shock_t: Array, band: float = 0.01, pre_window: int = 1, hold: int = 1
) -> RecoveryResult:
    """Steps until the price is back within ``band`` (relative) of its pre-shock level.

    Reference ``p_ref = mean(prices[t0-pre_window:t0])``. Recovery is the first
    ``t >= t0`` at which ``|p_t - p_ref| <= band * |p_ref|`` holds for ``hold``
    consecutive steps, *after* the price has first left the band at or after
    ``t0`` (0 if it never leaves). ``steps = t - t0``. If it never recovers,
    ``steps = T - t0`` and ``censored = True`` (right-censored at the end).
    """
    p = as_float(prices)
    T = p.shape[-1]
    t0 = jnp.asarray(shock_t)
    ref = jnp.mean(lax.dynamic_slice_in_dim(p, t0 - pre_window, pre_window))
    t = jnp.arange(T)
    inside = jnp.abs(p - ref) <= band * jnp.abs(ref)
    if hold > 1:
        pad = jnp.concatenate([inside, jnp.zeros((hold - 1,), bool)])
        held = inside
        for j in range(1, hold):
            held = held & lax.dynamic_slice_in_dim(pad, j, T)
    else:
        held = inside
    after = t >= t0
    left = after & ~inside
    has_left = jnp.any(left)
    t_exit = jnp.argmax(left)
    cand = held & (t > t_exit) & after
    recovered = jnp.any(cand)
    t_rec = jnp.argmax(cand)
    steps = jnp.where(has_left, jnp.where(recovered, t_rec - t0, T - t0), 0)
    censored = has_left & ~recovered
    return RecoveryResult(steps, censored, ref)


@partial(jax.jit, static_argnames="hac_maxlags")
def kyle_lambda(
    price_changes: Array, signed_volume: Array, hac_maxlags: int | None = None
) -> OLSResult:
    """Kyle's (1985) lambda: OLS ``dp_t = c + lambda * q_t + e_t``.

    ``price_changes`` [T] (returns or price differences) on net signed order
    flow ``q_t`` [T]. ``params[1]`` is lambda (price impact per unit volume);
    errors classical or HAC (Bartlett) as in :func:`quantmarl.quant._ols.ols`.
    """
    q = as_float(signed_volume)
    X = jnp.stack([jnp.ones_like(q), q], axis=-1)
    return ols(price_changes, X, None, hac_maxlags)


@jax.jit
def amihud_illiquidity(returns: Array, volume: Array) -> Array:
    """Amihud's (2002) illiquidity ratio: the mean of ``|r_t| / volume_t`` over the
    periods with volume > 0 (return units per unit of volume); [..., T] -> [...],
    NaN where no period traded. A robustness check on Kyle's lambda that needs no
    signed order flow."""
    r, v = as_float(returns), as_float(volume)
    traded = v > 0
    ratio = jnp.where(traded, jnp.abs(r) / jnp.where(traded, v, 1.0), 0.0)
    n = jnp.sum(traded, axis=-1)
    return jnp.where(n > 0, jnp.sum(ratio, axis=-1) / jnp.maximum(n, 1), jnp.nan)


@partial(jax.jit, static_argnames="periods_per_year")
def realised_volatility(returns: Array, periods_per_year: int | None = None) -> Array:
    """Realised volatility ``sqrt(sum_t r_t^2)`` over the last axis (Andersen & Bollerslev 1998).

    With ``periods_per_year``: annualised ``sqrt(P / T * sum r^2)``. [..., T] -> [...].
    """
    r = as_float(returns)
    rv = jnp.sum(r**2, axis=-1)
    if periods_per_year is not None:
        rv = rv * periods_per_year / r.shape[-1]
    return jnp.sqrt(rv)

"""Return and risk metrics on 1-D series (``vmap`` over seeds/agents).

Conventions (documented in ``docs/metrics.md``): returns are simple per-period
fractions unless ``log=True``; annualisation multiplies the per-period ratio
by ``sqrt(periods_per_year)``; ``risk_free`` is a *per-period* rate (as in
empyrical); drawdowns are positive fractions of the running peak; VaR and ES
are positive losses from the historical distribution.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import Array, lax

from quantmarl.quant._cast import as_float

__all__ = [
    "returns",
    "sharpe",
    "sortino",
    "drawdown",
    "max_drawdown",
    "max_drawdown_duration",
    "annual_return",
    "calmar",
    "win_rate",
    "profit_factor",
    "var",
    "expected_shortfall",
    "turnover",
    "average_trade_size",
    "trade_frequency",
]


@partial(jax.jit, static_argnames="log")
def returns(prices: Array, log: bool = False) -> Array:
    """Per-period returns ``p_t / p_{t-1} - 1`` (or ``log(p_t / p_{t-1})``). [T] -> [T-1]."""
    p = as_float(prices)
    return jnp.diff(jnp.log(p)) if log else p[1:] / p[:-1] - 1.0


@partial(jax.jit, static_argnames="periods_per_year")
def sharpe(r: Array, periods_per_year: int = 252, risk_free: float = 0.0) -> Array:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(P)``. [T] -> []."""
    ex = as_float(r) - risk_free
    return jnp.mean(ex) / jnp.std(ex, ddof=1) * jnp.sqrt(float(periods_per_year))


@partial(jax.jit, static_argnames="periods_per_year")
def sortino(r: Array, periods_per_year: int = 252, risk_free: float = 0.0) -> Array:
    """Annualised Sortino ratio (Sortino & Price 1994; empyrical convention).

    ``mean(r - rf) / DD * sqrt(P)`` with downside deviation
    ``DD = sqrt(mean(min(r - rf, 0)^2))`` over *all* T periods. [T] -> [].
    """
    ex = as_float(r) - risk_free
    dd = jnp.sqrt(jnp.mean(jnp.minimum(ex, 0.0) ** 2))
    return jnp.mean(ex) / dd * jnp.sqrt(float(periods_per_year))


@jax.jit
def drawdown(equity: Array) -> Array:
    """Drawdown series ``1 - E_t / max_{s<=t} E_s`` (positive fraction). [T] -> [T]."""
    e = as_float(equity)
    peak = lax.cummax(e, axis=0)
    return 1.0 - e / peak


@jax.jit
def max_drawdown(equity: Array) -> Array:
    """Maximum drawdown ``max_t (1 - E_t / max_{s<=t} E_s)``, a fraction in [0, 1]. [T] -> []."""
    return jnp.max(drawdown(equity))


@jax.jit
def max_drawdown_duration(equity: Array) -> Array:
    """Longest run of consecutive periods strictly below the running peak (int). [T] -> []."""
    e = as_float(equity)
    under = e < lax.cummax(e, axis=0)

    def step(run, u):
        run = jnp.where(u, run + 1, 0)
        return run, run

    _, runs = lax.scan(step, jnp.zeros((), jnp.int32), under)
    return jnp.max(runs)


@partial(jax.jit, static_argnames="periods_per_year")
def annual_return(r: Array, periods_per_year: int = 252) -> Array:
    """Compound annual growth rate ``prod(1 + r)^(P / T) - 1``. [T] -> []."""
    r = as_float(r)
    growth = jnp.prod(1.0 + r)
    return growth ** (periods_per_year / r.shape[-1]) - 1.0


@partial(jax.jit, static_argnames="periods_per_year")
def calmar(r: Array, periods_per_year: int = 252) -> Array:
    """Calmar ratio ``annual_return(r) / max_drawdown(cumprod(1 + r))`` (Young 1991).

    The equity curve starts at 1 before the first return. [T] -> [] (inf if no drawdown).
    """
    r = as_float(r)
    eq = jnp.concatenate([jnp.ones((1,), r.dtype), jnp.cumprod(1.0 + r)])
    return annual_return(r, periods_per_year) / max_drawdown(eq)


@jax.jit
def win_rate(pnl_per_trade: Array, mask: Array | None = None) -> Array:
    """Fraction of trades with ``pnl > 0`` among the trades in ``mask`` (default all). [K] -> []."""
    pnl = as_float(pnl_per_trade)
    m = jnp.ones(pnl.shape, bool) if mask is None else jnp.asarray(mask, bool)
    return jnp.sum((pnl > 0) & m) / jnp.sum(m)


@jax.jit
def profit_factor(pnl_per_trade: Array, mask: Array | None = None) -> Array:
    """Gross profit over gross loss ``sum(pnl+) / sum(|pnl-|)`` (inf if no losses). [K] -> []."""
    pnl = as_float(pnl_per_trade)
    if mask is not None:
        pnl = jnp.where(jnp.asarray(mask, bool), pnl, 0.0)
    return jnp.sum(jnp.maximum(pnl, 0.0)) / jnp.sum(jnp.maximum(-pnl, 0.0))


def _quantile_linear(x: Array, q: Array) -> Array:
    """Hyndman-Fan type 7 (numpy's default ``linear``) quantile of a 1-D array."""
    s = jnp.sort(x)
    h = (s.shape[-1] - 1) * q
    lo = jnp.clip(jnp.floor(h).astype(jnp.int32), 0, s.shape[-1] - 1)
    hi = jnp.clip(lo + 1, 0, s.shape[-1] - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


@jax.jit
def var(r: Array, alpha: float = 0.05) -> Array:
    """Historical value at risk at tail probability ``alpha`` (e.g. 0.05 = 95% VaR).

    ``VaR = -Q(alpha)`` where ``Q`` is numpy's default ``linear`` (Hyndman-Fan
    type 7) empirical quantile; a positive number is a loss. [T] -> [].
    """
    return -_quantile_linear(as_float(r), jnp.asarray(alpha))


@jax.jit
def expected_shortfall(r: Array, alpha: float = 0.05) -> Array:
    """Historical expected shortfall: ``-mean(r | r <= Q(alpha))`` (same quantile as :func:`var`).

    Positive number = average loss in the tail. [T] -> [].
    """
    r = as_float(r)
    q = _quantile_linear(r, jnp.asarray(alpha))
    tail = r <= q
    return -jnp.sum(jnp.where(tail, r, 0.0)) / jnp.sum(tail)


@jax.jit
def turnover(traded_value: Array, equity: Array) -> Array:
    """Turnover per period ``sum_t |traded_value_t| / (T * mean_t equity_t)``.

    ``traded_value``: signed notional traded each period [T]; ``equity``: [T].
    Multiply by periods per year for an annual figure. [T], [T] -> [].
    """
    tv = as_float(traded_value)
    return jnp.sum(jnp.abs(tv)) / (tv.shape[-1] * jnp.mean(as_float(equity)))


@jax.jit
def average_trade_size(quantities: Array) -> Array:
    """Mean ``|q|`` over periods/trades with ``q != 0`` (NaN if none). [T] -> []."""
    q = as_float(quantities)
    nz = q != 0
    return jnp.sum(jnp.abs(q)) / jnp.where(jnp.any(nz), jnp.sum(nz), jnp.nan)


@jax.jit
def trade_frequency(quantities: Array) -> Array:
    """Fraction of periods with a nonzero trade ``mean(q != 0)``. [T] -> []."""
    return jnp.mean(jnp.asarray(quantities) != 0)

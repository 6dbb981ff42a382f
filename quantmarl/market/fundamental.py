"""Fundamental value process per asset: mean-reverting log value with jumps and
cross-asset correlation.

``log v_{t+1} = log v_t + kappa (log v_0 - log v_t) + sigma * mult * (L z)_t + J_t``
with ``z ~ N(0, I)``, ``L`` the Cholesky factor of the correlation matrix, and
``J_t ~ Bernoulli(jump_prob) * N(0, jump_scale^2)`` per asset; ``mult`` is a
per-asset volatility multiplier (1 normally, > 1 during a volatility spike).
The state keeps the float64 log value; the book sees ``round(v)`` as int64
ticks (at least 1 tick). News jumps are applied multiplicatively.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from quantmarl.market.config import FundamentalParams


def fundamental_ticks(log_value: jax.Array) -> jax.Array:
    """float64 log value [A] -> int64 ticks [A] (rounded, at least 1)."""
    return jnp.maximum(jnp.round(jnp.exp(log_value)), 1).astype(jnp.int64)


def step_fundamental(
    key: jax.Array,
    log_value: jax.Array,
    log_anchor: jax.Array,
    params: FundamentalParams,
    vol_mult: jax.Array | float = 1.0,
    news_jump: jax.Array | float = 0.0,
) -> jax.Array:
    """Advance the log value [A] one step; ``news_jump`` is a fractional jump (0.05 = +5%)."""
    k_z, k_jump, k_size = jax.random.split(key, 3)
    n = log_value.shape[-1]
    chol = jnp.linalg.cholesky(params.correlation + 1e-12 * jnp.eye(n))
    z = chol @ jax.random.normal(k_z, (n,), log_value.dtype)
    jumps = jnp.where(
        jax.random.uniform(k_jump, (n,)) < params.jump_prob,
        params.jump_scale * jax.random.normal(k_size, (n,), log_value.dtype),
        0.0,
    )
    drift = params.kappa * (log_anchor - log_value)
    news = jnp.log1p(jnp.asarray(news_jump, log_value.dtype))
    return log_value + drift + params.sigma * vol_mult * z + jumps + news

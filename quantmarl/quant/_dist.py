"""Distribution tails used for p-values (jax.scipy.special based)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.scipy.special import betainc, ndtr


def t_sf(t: Array, df: Array) -> Array:
    """Student-t survival function ``P(T > t)`` via the regularised incomplete beta."""
    t = jnp.asarray(t)
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)  # P(T > |t|)
    return jnp.where(t > 0, tail, 1.0 - tail)


def t_two_sided(t: Array, df: Array) -> Array:
    """Two-sided Student-t p-value ``P(|T| > |t|)``."""
    t = jnp.asarray(t)
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def norm_sf(z: Array) -> Array:
    """Standard normal survival function ``P(Z > z)``."""
    return ndtr(-jnp.asarray(z))

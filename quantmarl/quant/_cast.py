"""Input casting shared by the quant metrics."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array


def as_float(x: Array) -> Array:
    """``x`` as a JAX array: floats keep their dtype (float32 allowed); ints and bools
    become the default float (float64 under x64)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))

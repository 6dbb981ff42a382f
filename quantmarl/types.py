"""Units and dtypes of the ledger.

``Price`` is int64 ticks, ``Qty`` int64 lots, ``Cash`` int64 minor units
(e.g. cents). Floats appear only in observations, metrics and plots, through
:func:`ticks_to_float`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl._x64 import require_x64

PRICE_DTYPE = jnp.int64
QTY_DTYPE = jnp.int64
CASH_DTYPE = jnp.int64
ID_DTYPE = jnp.int64
INDEX_DTYPE = jnp.int32

Price = jax.Array  # int64 ticks
Qty = jax.Array  # int64 lots
Cash = jax.Array  # int64 minor units


def check_int64(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is an int64 array (or a Python int).

    Called at trace time by kernels: int32 inputs would overflow in notionals
    (price x qty), so they are refused rather than silently promoted.
    """
    require_x64()
    if isinstance(value, int) and not isinstance(value, bool):
        return
    dtype = getattr(value, "dtype", None)
    if dtype is None or np.dtype(dtype) != np.int64:
        raise ValueError(
            f"{name} must have dtype int64 (prices in ticks, quantities in lots, cash in "
            f"minor units), got {dtype if dtype is not None else type(value).__name__}"
        )


def ticks_to_float(ticks: jax.Array, tick_size: float | jax.Array) -> jax.Array:
    """Price in ticks (int64) -> price in currency units (float32), for observations and plots."""
    return ticks.astype(jnp.float32) * jnp.asarray(tick_size, jnp.float32)


def float_to_ticks(price: jax.Array, tick_size: float | jax.Array) -> jax.Array:
    """Price in currency units -> nearest int64 tick (for user input, never for fills)."""
    return jnp.round(jnp.asarray(price, jnp.float64) / tick_size).astype(jnp.int64)

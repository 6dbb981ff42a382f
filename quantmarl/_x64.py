"""The one place quantmarl turns on 64-bit JAX.

Money is exact in quantmarl: prices are int64 ticks, quantities int64 lots and
cash int64 minor units. JAX defaults to 32-bit types, which would silently
truncate them, so importing :mod:`quantmarl` enables ``jax_enable_x64``.
Kernels call :func:`require_x64` at trace time and fail loudly if someone has
turned the flag off afterwards.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)


def x64_enabled() -> bool:
    """Whether JAX currently uses 64-bit types."""
    return bool(jax.config.read("jax_enable_x64"))


def require_x64() -> None:
    """Raise ``RuntimeError`` unless ``jax_enable_x64`` is on."""
    if not x64_enabled():
        raise RuntimeError(
            "quantmarl needs 64-bit JAX (jax_enable_x64) for exact int64 prices, "
            "quantities and cash; importing quantmarl enables it, but it has since "
            "been turned off. Call jax.config.update('jax_enable_x64', True)."
        )

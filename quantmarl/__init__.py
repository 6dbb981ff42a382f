"""quantmarl: multi-agent reinforcement learning in financial markets.

Importing quantmarl enables ``jax_enable_x64`` (see :mod:`quantmarl._x64`):
prices, quantities and cash are exact int64 values. It also turns XLA's CPU
fusion emitters off unless told otherwise (see :mod:`quantmarl._xla`): half the
compile memory, same speed.
"""

from quantmarl import _xla

_xla.apply()  # before JAX's CPU backend starts

from quantmarl import _x64  # noqa: E402, F401  (must run before any array is created)
from quantmarl._x64 import require_x64, x64_enabled  # noqa: E402

__version__ = "0.1.0"

__all__ = ["__version__", "require_x64", "x64_enabled"]

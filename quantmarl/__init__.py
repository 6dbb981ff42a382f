"""quantmarl: multi-agent reinforcement learning in financial markets.

Importing quantmarl enables ``jax_enable_x64`` (see :mod:`quantmarl._x64`):
prices, quantities and cash are exact int64 values. It changes no other
process-wide setting; entry points opt in to quantmarl's XLA and allocator
defaults with :func:`quantmarl.runtime.configure`.
"""

from quantmarl import _x64  # noqa: F401  (must run before any array is created)
from quantmarl._x64 import require_x64, x64_enabled

__version__ = "0.1.0"

__all__ = ["__version__", "require_x64", "x64_enabled"]

"""Price and volume series of many simulated markets at once: the input of the
stylized-facts check, the impact measurement and the calibration.

:func:`simulate` runs markets with no learner acting, ``vmap``-ed over seeds
(and, with ``batched_params=True``, over a leading axis of the params pytree:
one compiled call evaluates a whole batch of candidate parameter sets).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl.market import MarketConfig, MarketParams, run

__all__ = ["MarketSeries", "simulate"]


@struct.dataclass
class MarketSeries:
    """Per-step series (leading axes: [P,] seeds S, then time T, then assets A)."""

    close: jax.Array  # int64 [..., S, T, A] ticks
    volume: jax.Array  # int64 [..., S, T, A] lots
    fundamental: jax.Array  # int64 [..., S, T, A] ticks
    halted: jax.Array  # bool [..., S, T, A]

    def log_returns(self) -> np.ndarray:
        """float64 [..., S, T - 1, A]: step-horizon log returns of the close."""
        logp = np.log(np.asarray(self.close, np.float64))
        return np.diff(logp, axis=-2)


@partial(jax.jit, static_argnames=("config", "n_steps", "burn_in", "batched_params"))
def _simulate(keys, params, config, n_steps, burn_in, batched_params):
    def one(key, p):
        _, rec = run(key, config, p, burn_in + n_steps)
        cut = slice(burn_in, None)
        return MarketSeries(close=rec.close[cut], volume=rec.volume[cut],
                            fundamental=rec.fundamental[cut], halted=rec.halted[cut])

    over_seeds = jax.vmap(one, in_axes=(0, None))
    if not batched_params:
        return over_seeds(keys, params)
    return jax.vmap(over_seeds, in_axes=(None, 0))(keys, params)


def simulate(config: MarketConfig, params: MarketParams, keys: jax.Array, n_steps: int,
             *, burn_in: int = 0, batched_params: bool = False) -> MarketSeries:
    """Run one market per key (``keys`` [S]) for ``burn_in + n_steps`` steps, keep the last
    ``n_steps``. With ``batched_params`` every leaf of ``params`` has a leading axis P and
    the result has leading axes [P, S]. ``config.episode_length`` does not limit ``n_steps``.
    """
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2, got {n_steps}")
    if burn_in < 0:
        raise ValueError(f"burn_in must be >= 0, got {burn_in}")
    keys = jnp.asarray(keys)
    return _simulate(keys, params, config, int(n_steps), int(burn_in), bool(batched_params))

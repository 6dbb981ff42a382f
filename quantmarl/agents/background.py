"""Background order flow: a statistical pool standing for a large population.

These are *represented*, not simulated, agents: each step, per asset, a
Poisson number of orders (at most ``max_orders``, static) arrives, with an
intensity that excites itself on large price moves and decays back to its
base (a discrete-time Hawkes-like rule). Sides are balanced unless a stress
event adds buy or sell pressure; limit prices sit a heavy-tailed (Student-t)
number of ticks from the last price, some orders are market orders, and
sizes are Pareto distributed. Orders live one step (auction mode), so there
is nothing to cancel. Benchmarks count these orders apart from simulated
agents and never mix the two.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class BackgroundParams:
    """Order-flow statistics (params pytree; floats are statistics, not money)."""

    base_intensity: jax.Array  # float [] mean orders per step per asset when calm
    excitation: jax.Array  # float [] intensity added per unit |return| / volatility
    decay: jax.Array  # float [] fraction of excess intensity kept each step, in [0, 1)
    market_frac: jax.Array  # float [] share of market orders
    offset_scale: jax.Array  # float [] ticks: scale of the Student-t limit offset
    offset_dof: jax.Array  # float [] Student-t degrees of freedom (heavy tails when small)
    size_min: jax.Array  # float [] lots: Pareto minimum size
    size_alpha: jax.Array  # float [] Pareto tail exponent of sizes
    size_cap: jax.Array  # int64 [] lots: largest order
    drift_sigma: jax.Array  # float [] per-step log std of the flow's reference price (sentiment)


def default_background() -> BackgroundParams:
    """Calm flow: ~200 orders/step/asset, 10% market orders, t(3) offsets, Pareto(1.8) sizes."""
    return BackgroundParams(
        base_intensity=jnp.asarray(200.0),
        excitation=jnp.asarray(50.0),
        decay=jnp.asarray(0.9),
        market_frac=jnp.asarray(0.1),
        offset_scale=jnp.asarray(3.0),
        offset_dof=jnp.asarray(3.0),
        size_min=jnp.asarray(1.0),
        size_alpha=jnp.asarray(1.8),
        size_cap=jnp.asarray(1_000, jnp.int64),
        drift_sigma=jnp.asarray(0.0005),
    )


@struct.dataclass
class BackgroundOrders:
    """One step of background orders per asset (qty 0 marks an empty slot)."""

    side: jax.Array  # int64 [A, max_orders] +1 / -1 (0 in empty slots)
    price: jax.Array  # int64 [A, max_orders] ticks, 0 = market order
    qty: jax.Array  # int64 [A, max_orders] lots


def update_intensity(
    intensity: jax.Array, params: BackgroundParams, abs_return: jax.Array, volatility: jax.Array
) -> jax.Array:
    """Self-exciting intensity [A]: decays toward the base, jumps with |return| / volatility."""
    shock = abs_return / jnp.maximum(volatility, 1e-6)
    excess = params.decay * (intensity - params.base_intensity) + params.excitation * shock
    return params.base_intensity + jnp.maximum(excess, 0.0)


def sample_orders(
    key: jax.Array,
    last_price: jax.Array,
    intensity: jax.Array,
    params: BackgroundParams,
    max_orders: int,
    buy_pressure: jax.Array | float = 0.0,
    sell_pressure: jax.Array | float = 0.0,
) -> BackgroundOrders:
    """Draw one step of orders for every asset.

    ``last_price`` int64 [A] ticks; ``intensity`` float [A]; pressures [A] shift
    the buy probability to ``0.5 + 5 * (buy - sell)``, clipped to [0.02, 0.98].
    """
    n_assets = last_price.shape[0]
    shape = (n_assets, max_orders)
    k_n, k_side, k_mkt, k_off, k_size = jax.random.split(key, 5)
    count = jnp.minimum(jax.random.poisson(k_n, intensity, (n_assets,)), max_orders)
    active = jnp.arange(max_orders)[None, :] < count[:, None]
    tilt = jnp.asarray(buy_pressure) - jnp.asarray(sell_pressure)
    p_buy = jnp.broadcast_to(jnp.clip(0.5 + 5.0 * tilt, 0.02, 0.98), (n_assets,))
    buy = jax.random.uniform(k_side, shape) < p_buy[:, None]
    side = jnp.where(buy, 1, -1).astype(jnp.int64)
    # passive offsets: buys below, sells above the last price (t-distributed, so some cross)
    offset = jnp.round(params.offset_scale * jax.random.t(k_off, params.offset_dof, shape))
    price = last_price[:, None] - side * offset.astype(jnp.int64)
    market = jax.random.uniform(k_mkt, shape) < params.market_frac
    price = jnp.where(market, 0, jnp.maximum(price, 1))
    u = jax.random.uniform(k_size, shape, minval=1e-6, maxval=1.0)
    size = jnp.floor(params.size_min * u ** (-1.0 / params.size_alpha))
    qty = jnp.clip(size, 1, params.size_cap.astype(size.dtype)).astype(jnp.int64)
    return BackgroundOrders(
        side=jnp.where(active, side, 0),
        price=jnp.where(active, price, 0).astype(jnp.int64),
        qty=jnp.where(active, qty, 0),
    )

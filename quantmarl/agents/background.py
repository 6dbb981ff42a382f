"""Background order flow: a statistical pool standing for a large population.

These are *represented*, not simulated, agents: each step, per asset, each
of ``max_orders`` (static) slots is filled with probability
``intensity / max_orders`` (binomial thinning: about Poisson(intensity)
orders while intensity is well below ``max_orders``), with an intensity that
excites itself on large price moves and decays back to its base (a
discrete-time Hawkes-like rule). The flow is priced around a reference that
drifts with the population's sentiment and leans toward the fundamental value
(``value_pull``: the share of the log gap it closes each step), so the
population prices in news and buys back a crash that news did not cause.
Sides are balanced unless a stress event adds buy or sell pressure; limit
prices sit a heavy-tailed number of ticks from the reference price (a
symmetric Lomax / Pareto-II offset, whose tails decay like
``|x|^-offset_dof``), some orders are market orders, and sizes are Pareto
distributed. Every draw is closed-form from uniforms (no rejection loops),
which keeps the step small to compile and fast to run. Orders live one step
(auction mode), so there is nothing to cancel. Benchmarks count these orders apart from simulated
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
    offset_scale: jax.Array  # float [] ticks: scale of the limit-price offset
    offset_dof: jax.Array  # float [] tail exponent of the offset distribution (heavy when small)
    size_min: jax.Array  # float [] lots: Pareto minimum size
    size_alpha: jax.Array  # float [] Pareto tail exponent of sizes
    size_cap: jax.Array  # int64 [] lots: largest order
    drift_sigma: jax.Array  # float [] per-step log std of the flow's reference price (sentiment)
    value_pull: jax.Array  # float [] share of log(fundamental / price) the reference closes, [0, 1]


VALUE_PULL = 0.1  # default: the flow's reference closes 10% of the log gap to value per step


def default_background() -> BackgroundParams:
    """Calm flow: ~200 orders/step/asset, 10% market orders, tail-3 offsets, Pareto(1.8) sizes,
    priced around a reference that leans toward value (:data:`VALUE_PULL`)."""
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
        value_pull=jnp.asarray(VALUE_PULL),
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


def reference_price(
    key: jax.Array,
    last_price: jax.Array,
    log_fundamental: jax.Array,
    vol_mult: jax.Array,
    params: BackgroundParams,
) -> jax.Array:
    """The price the flow is drawn around this step: int64 [A] ticks (>= 1).

    The last price (int64 [A]) moved by the population's sentiment (a log
    drift with std ``drift_sigma * vol_mult``, ``vol_mult`` float [A] from the
    events) and leaning toward value: ``value_pull`` of the log gap to the
    fundamental (``log_fundamental`` float64 [A], log ticks) is closed.
    """
    drift = params.drift_sigma * vol_mult * jax.random.normal(key, last_price.shape)
    log_last = jnp.log(last_price.astype(jnp.float64))
    lean = params.value_pull.astype(jnp.float64) * (log_fundamental - log_last)
    ref = jnp.maximum(jnp.round(jnp.exp(log_last + drift.astype(jnp.float64) + lean)), 1)
    return ref.astype(jnp.int64)


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
    u = jax.random.uniform(key, (6, *shape), jnp.float32, minval=1e-7, maxval=1.0)
    rate = jnp.clip(jnp.asarray(intensity, jnp.float32) / max_orders, 0.0, 1.0)
    active = u[0] < jnp.broadcast_to(rate, (n_assets,))[:, None]
    tilt = jnp.asarray(buy_pressure) - jnp.asarray(sell_pressure)
    p_buy = jnp.broadcast_to(jnp.clip(0.5 + 5.0 * tilt, 0.02, 0.98), (n_assets,))
    side = jnp.where(u[1] < p_buy[:, None], 1, -1).astype(jnp.int64)
    # passive offsets (buys below, sells above the reference), symmetric Lomax: some cross
    magnitude = params.offset_scale * (u[2] ** (-1.0 / params.offset_dof) - 1.0)
    offset = jnp.round(jnp.where(u[3] < 0.5, -magnitude, magnitude)).astype(jnp.int64)
    price = last_price[:, None] - side * offset
    market = u[4] < params.market_frac
    price = jnp.where(market, 0, jnp.maximum(price, 1))
    size = jnp.floor(params.size_min * u[5] ** (-1.0 / params.size_alpha))
    qty = jnp.clip(size, 1, params.size_cap.astype(size.dtype)).astype(jnp.int64)
    return BackgroundOrders(
        side=jnp.where(active, side, 0),
        price=jnp.where(active, price, 0).astype(jnp.int64),
        qty=jnp.where(active, qty, 0),
    )

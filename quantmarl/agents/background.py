"""Background order flow: a statistical pool standing for a large population.

These are *represented*, not simulated, agents. The intensity-to-orders map:
the intensity ``lambda`` (float, per asset) is the expected number of orders
per step; each of ``max_orders`` (static, ``MarketConfig.background_orders``)
slots is filled with probability ``min(lambda / max_orders, 1)``, so the count
is Binomial(max_orders, lambda / max_orders): about Poisson(lambda) while
``lambda`` is well below the cap, and every slot filled (saturated) once
``lambda >= max_orders``. The calm intensity ``base_intensity`` sits well
below the cap (8 of 32 slots by default), so excitation and liquidity shocks
(which divide the intensity) really change the flow.

The intensity excites itself on large price moves and decays back to its base
(a discrete-time Hawkes-like rule): a move is measured against the market's
long-run volatility, so a turbulent period raises the flow until the long-run
estimate catches up. The flow's *activity* ``intensity / base_intensity``
(capped at ``max_activity``) also sets how the population trades: the share
of market orders grows like ``activity ** aggression_elasticity`` and the
dispersion of limit prices like ``activity ** dispersion_elasticity`` (traders
become more aggressive and less patient when the market moves), which turns
bursts of flow into bursts of volatility and volume together. In busy periods
the flow also *herds*: a share ``min(herding * (activity - 1), 1)`` of the
orders takes the step's sentiment side (a fair coin per asset and step, as a
cluster's side in the Cont-Bouchaud model: the herd's size is endogenous, its
side unpredictable), and sizes grow like ``activity ** size_elasticity``, so a
busy step is busy *and* directional. Every trader quotes in units of the
volatility it observes (:func:`price_scale`: offsets x ``(volatility /
long-run volatility) ** quote_vol_elasticity``, floored at ``quote_floor``):
liquidity near the price thins when the market moves, which keeps a
turbulent period turbulent.

The flow is priced around a reference that drifts with the population's
sentiment and may lean toward the fundamental value (``value_pull``: the share
of the log gap it closes each step; 0 by default, the fundamental traders
carry value into the price). Sides are balanced unless a stress event adds
buy or sell pressure; limit prices sit a heavy-tailed number of ticks from
the reference price (a symmetric Lomax / Pareto-II offset, whose tails decay
like ``|x|^-offset_dof``), some orders are market orders, and sizes are
Pareto distributed. Every draw is closed-form from uniforms (no rejection
loops), which keeps the step small to compile and fast to run. Orders live one
step (auction mode), so there is nothing to cancel. Benchmarks count these
orders apart from simulated agents and never mix the two.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl._validate import check_float


@struct.dataclass
class BackgroundParams:
    """Order-flow statistics (params pytree; floats are statistics, not money)."""

    base_intensity: jax.Array  # float [] expected orders per step per asset when calm
    excitation: jax.Array  # float [] orders per step added per unit |return| / long-run vol
    decay: jax.Array  # float [] fraction of excess intensity kept each step, in [0, 1)
    market_frac: jax.Array  # float [] share of market orders
    offset_scale: jax.Array  # float [] ticks: scale of the limit-price offset
    offset_dof: jax.Array  # float [] tail exponent of the offset distribution (heavy when small)
    size_min: jax.Array  # float [] lots: Pareto minimum size
    size_alpha: jax.Array  # float [] Pareto tail exponent of sizes
    size_cap: jax.Array  # int64 [] lots: largest order
    drift_sigma: jax.Array  # float [] per-step log std of the flow's reference price (sentiment)
    value_pull: jax.Array  # float [] share of log(fundamental / price) the reference closes, [0, 1]
    max_activity: jax.Array  # float [] cap on intensity / base_intensity (>= 1)
    aggression_elasticity: jax.Array  # float [] market-order share grows like activity ** this
    dispersion_elasticity: jax.Array  # float [] limit-offset scale grows like activity ** this
    withdrawal_elasticity: jax.Array  # float [] market makers' spreads grow like activity ** this
    vol_memory: jax.Array  # float [] EWMA decay of the long-run volatility, in [0, 1)
    herding: jax.Array  # float [] share of orders following the step's sentiment per unit of
    #                     excess activity (act - 1), capped at 1 (0: sides independent)
    size_elasticity: jax.Array  # float [] order sizes grow like activity ** this
    quote_vol_elasticity: jax.Array  # float [] every price offset grows like
    #                                  (volatility / long-run volatility) ** this
    quote_floor: jax.Array  # float [] smallest factor on price offsets, in (0, 1]


VALUE_PULL = 0.0  # default: the flow's reference does not lean toward value by itself


def default_background() -> BackgroundParams:
    """Calm flow: ~8 orders/step/asset, 10% market orders, tail-3 offsets, Pareto(1.8) sizes,
    self-exciting up to 4x, more dispersed, larger and herding when active. The fields of
    ``docs/calibration/params.yaml`` (herding, the quote, size and aggression elasticities,
    excitation, decay, drift_sigma) are the calibration's output
    (``python -m experiments.calibrate``)."""
    return BackgroundParams(
        base_intensity=jnp.asarray(8.0),
        excitation=jnp.asarray(0.5529),
        decay=jnp.asarray(0.9724),
        market_frac=jnp.asarray(0.1),
        offset_scale=jnp.asarray(6.0),
        offset_dof=jnp.asarray(3.0),
        size_min=jnp.asarray(1.0),
        size_alpha=jnp.asarray(1.8),
        size_cap=jnp.asarray(1_000, jnp.int64),
        drift_sigma=jnp.asarray(0.001473),
        value_pull=jnp.asarray(VALUE_PULL),
        max_activity=jnp.asarray(4.0),
        aggression_elasticity=jnp.asarray(0.07833),
        dispersion_elasticity=jnp.asarray(0.5),
        withdrawal_elasticity=jnp.asarray(1.0),
        vol_memory=jnp.asarray(0.995),
        herding=jnp.asarray(0.4097),
        size_elasticity=jnp.asarray(1.026),
        quote_vol_elasticity=jnp.asarray(0.5184),
        quote_floor=jnp.asarray(0.75),
    )


_FIELDS = (  # (field, lower, upper) checked by validate_background
    ("base_intensity", 0.0, 1e7), ("excitation", 0.0, 1e7), ("decay", 0.0, 0.9999),
    ("market_frac", 0.0, 1.0), ("offset_scale", 0.0, 1e6), ("offset_dof", 0.1, 1e3),
    ("size_min", 1.0, 1e9), ("size_alpha", 0.1, 1e3), ("drift_sigma", 0.0, 1.0),
    ("value_pull", 0.0, 1.0), ("max_activity", 1.0, 1e3), ("aggression_elasticity", 0.0, 10.0),
    ("dispersion_elasticity", 0.0, 10.0), ("withdrawal_elasticity", 0.0, 10.0),
    ("vol_memory", 0.0, 0.9999), ("herding", 0.0, 10.0), ("size_elasticity", 0.0, 10.0),
    ("quote_vol_elasticity", 0.0, 2.0), ("quote_floor", 1.0 / 8.0, 1.0),
)


def validate_background(params: BackgroundParams) -> None:
    """Range checks of every float field (concrete values): ``ValueError`` naming
    ``background.<field>``, the value and the range."""
    for name, lo, hi in _FIELDS:
        value = np.asarray(getattr(params, name))
        if value.shape != ():
            raise ValueError(f"background.{name} must be a scalar, got shape {value.shape}")
        check_float(f"background.{name}", value.item(), lo, hi)


def activity(intensity: jax.Array, params: BackgroundParams) -> jax.Array:
    """float32 [A]: ``intensity / base_intensity`` in ``[0, max_activity]`` (1 when calm)."""
    base = jnp.maximum(params.base_intensity, 1e-6)
    act = jnp.clip(intensity / base, 0.0, params.max_activity)
    return jnp.where(params.base_intensity > 0, act, 1.0).astype(jnp.float32)


PRICE_SCALE_CAP = 8.0  # price_scale stays in [quote_floor, cap]


def price_scale(volatility: jax.Array, vol_long: jax.Array,
                params: BackgroundParams) -> jax.Array:
    """float32 [A]: the factor on every price offset in ticks (market makers' spreads,
    reactive traders' limit offsets, the pool's dispersion): traders quote in units of
    the volatility they observe, ``(volatility / vol_long) ** quote_vol_elasticity``
    clipped to ``[quote_floor, PRICE_SCALE_CAP]`` (1 when the elasticity is 0). The floor
    keeps calm quotes from collapsing onto the last price (steps without a price change)."""
    ratio = volatility.astype(jnp.float32) / jnp.maximum(vol_long.astype(jnp.float32), 1e-9)
    ratio = jnp.clip(ratio, 1.0 / PRICE_SCALE_CAP, PRICE_SCALE_CAP)
    scale = ratio ** params.quote_vol_elasticity.astype(jnp.float32)
    return jnp.clip(scale, params.quote_floor.astype(jnp.float32),
                    PRICE_SCALE_CAP).astype(jnp.float32)


def sentiment_side(key: jax.Array, n_assets: int) -> jax.Array:
    """int64 [A] +1 / -1, each with probability 1/2: the side the crowd leans to this step
    when it herds (as a cluster's side in the Cont-Bouchaud model: the *size* of the herd
    is endogenous, :func:`herd_share`; its side is not predictable from the past)."""
    return jnp.where(jax.random.bernoulli(key, 0.5, (n_assets,)), 1, -1).astype(jnp.int64)


def herd_share(act: jax.Array, params: BackgroundParams) -> jax.Array:
    """float32 [A]: the share of the pool's orders that takes the step's sentiment side,
    ``min(herding * (act - 1), 1)`` (0 when calm)."""
    return jnp.clip(params.herding * (act - 1.0), 0.0, 1.0).astype(jnp.float32)


@struct.dataclass
class BackgroundOrders:
    """One step of background orders per asset (qty 0 marks an empty slot)."""

    side: jax.Array  # int64 [A, max_orders] +1 / -1 (0 in empty slots)
    price: jax.Array  # int64 [A, max_orders] ticks, 0 = market order
    qty: jax.Array  # int64 [A, max_orders] lots


def update_intensity(
    intensity: jax.Array, params: BackgroundParams, abs_return: jax.Array, volatility: jax.Array
) -> jax.Array:
    """Self-exciting intensity [A]: decays toward the base, jumps with ``|return| /
    volatility`` (the market passes its long-run volatility), capped at
    ``base_intensity * max_activity``."""
    shock = abs_return / jnp.maximum(volatility, 1e-6)
    excess = params.decay * (intensity - params.base_intensity) + params.excitation * shock
    lam = params.base_intensity + jnp.maximum(excess, 0.0)
    return jnp.minimum(lam, params.base_intensity * params.max_activity).astype(intensity.dtype)


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
    act: jax.Array | float = 1.0,
    herd_side: jax.Array | int = 1,
    scale: jax.Array | float = 1.0,
) -> BackgroundOrders:
    """Draw one step of orders for every asset.

    ``last_price`` int64 [A] ticks; ``intensity`` float [A] expected orders (the
    map in the module docstring); pressures [A] shift the buy probability to
    ``0.5 + 5 * (buy - sell)``, clipped to [0.02, 0.98]; ``act`` float [A] the
    flow's activity (:func:`activity`): market-order share
    ``min(market_frac * act ** aggression_elasticity, 0.9)``, offset scale
    ``offset_scale * act ** dispersion_elasticity * scale`` (``scale`` float [A],
    :func:`price_scale`), sizes multiplied by ``act ** size_elasticity``. Herding: a share
    ``min(herding * (act - 1), 1)`` of the orders takes ``herd_side`` (int [A], the
    step's sentiment) instead of an independent side; which orders herd is random.
    """
    n_assets = last_price.shape[0]
    shape = (n_assets, max_orders)
    u = jax.random.uniform(key, (7, *shape), jnp.float32, minval=1e-7, maxval=1.0)
    rate = jnp.clip(jnp.asarray(intensity, jnp.float32) / max_orders, 0.0, 1.0)
    active = u[0] < jnp.broadcast_to(rate, (n_assets,))[:, None]
    tilt = jnp.asarray(buy_pressure) - jnp.asarray(sell_pressure)
    p_buy = jnp.broadcast_to(jnp.clip(0.5 + 5.0 * tilt, 0.02, 0.98), (n_assets,))
    side = jnp.where(u[1] < p_buy[:, None], 1, -1).astype(jnp.int64)
    act = jnp.broadcast_to(jnp.asarray(act, jnp.float32), (n_assets,))[:, None]
    herd = herd_share(act, params)
    herd_side = jnp.broadcast_to(jnp.asarray(herd_side, jnp.int64), (n_assets,))[:, None]
    side = jnp.where(u[6] < herd, herd_side, side)
    # passive offsets (buys below, sells above the reference), symmetric Lomax: some cross
    scale = (params.offset_scale * act ** params.dispersion_elasticity
             * jnp.broadcast_to(jnp.asarray(scale, jnp.float32), (n_assets,))[:, None])
    magnitude = scale * (u[2] ** (-1.0 / params.offset_dof) - 1.0)
    offset = jnp.round(jnp.where(u[3] < 0.5, -magnitude, magnitude)).astype(jnp.int64)
    price = last_price[:, None] - side * offset
    market = u[4] < jnp.minimum(params.market_frac * act ** params.aggression_elasticity, 0.9)
    price = jnp.where(market, 0, jnp.maximum(price, 1))
    size = jnp.floor(params.size_min * act ** params.size_elasticity
                     * u[5] ** (-1.0 / params.size_alpha))
    qty = jnp.clip(size, 1, params.size_cap.astype(size.dtype)).astype(jnp.int64)
    return BackgroundOrders(
        side=jnp.where(active, side, 0),
        price=jnp.where(active, price, 0).astype(jnp.int64),
        qty=jnp.where(active, qty, 0),
    )

"""Reactive (rule-based) traders: SoA parameters and per-agent decision rules, vmapped.

Every agent of a kind shares one decision *rule* and differs only in its
parameters, stored as a struct of arrays (:class:`ReactiveParams`, all fields
``[n]``). A rule is a pure per-agent function::

    rule(key, view, p, inventory, cash) -> (side, price, qty, asset)

with ``p`` one agent's parameters (scalar fields), ``inventory`` int64 ``[A]``
lots, ``cash`` int64 ``[]`` minor units, and outputs of shape ``[2]`` (two
order slots; dtypes int64, int64, int64, int32). :func:`batch` turns a rule
into a batched ``act(key, view, params, inventory [n, A], cash [n]) -> Orders``
by splitting ``key`` into one key per agent and ``jax.vmap``-ing the rule.

Exactness. Price *levels* are computed in int64 only. float32 appears only for
statistics (returns, z-scores, relative mispricings) and for *offsets* derived
from float parameters (inventory skew, noise on the fundamental, spread x
liquidity multiplier); each such offset is rounded explicitly
(``jnp.round``/``jnp.ceil``/``jnp.floor`` then ``astype(int64)``) before it is
added to an int64 price. Relative comparisons are done on exact int64
differences converted to float32, e.g. ``(estimate - last) / last > threshold``.

Common conventions of the built-in rules
    * Market orders have price :data:`MARKET` (0); limits are clipped to ``>= 1`` tick.
    * Position limit: an order on ``side`` is cut to ``max_inventory - side *
      inventory[asset]`` lots (never below 0), so a full fill never takes
      ``|inventory|`` past ``max_inventory``; an order cut to 0 lots is dropped.
    * No price (``last_price <= 0``, or a zero reference) means no order.
    * Unused slots are ``side 0, price 0, qty 0`` with the agent's own asset index.
    * ``cash`` is accepted (user rules may need it) but the built-in rules ignore
      it: budgets are enforced by market accounting, not here.
    * ``view.volatility`` is not used by the built-in rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import ndtri

from quantmarl.agents.view import MARKET, MarketView, Orders

__all__ = [
    "ACTS",
    "DEFAULT_DISTRIBUTIONS",
    "INDEX_PAIR",
    "RULES",
    "SIZE_MULT_CAP",
    "BehaviourDistribution",
    "ReactiveParams",
    "act_arbitrage",
    "act_fundamental",
    "act_market_maker",
    "act_mean_reversion",
    "act_momentum",
    "act_noise",
    "arbitrage",
    "batch",
    "fundamental",
    "market_maker",
    "mean_reversion",
    "momentum",
    "noise",
    "sample_params",
]

I64 = jnp.int64
I32 = jnp.int32
F32 = jnp.float32

INDEX_PAIR = -1  # pair_asset value selecting index arbitrage (see :func:`arbitrage`)
SIZE_MULT_CAP = 4  # fundamental trader: order size is at most SIZE_MULT_CAP * size
_MIN_THRESHOLD = 1e-4  # floor on the threshold used to scale the fundamental trader's size

Rule = Callable[..., tuple[jax.Array, jax.Array, jax.Array, jax.Array]]
ActFn = Callable[..., Orders]


@struct.dataclass
class ReactiveParams:
    """Heterogeneous per-agent parameters of one block of reactive agents (all ``[n]``)."""

    asset: jax.Array  # int32 [n] asset traded (first leg for arbitrage)
    size: jax.Array  # int64 [n] base order size, lots (>= 1)
    threshold: jax.Array  # float32 [n] trigger (return / relative mispricing / z-score units)
    lookback: jax.Array  # int32 [n] history rows used, 1..H (clipped to [1, H] when used)
    spread_ticks: jax.Array  # int64 [n] market maker half-spread / limit offset, ticks (>= 0)
    skew: jax.Array  # float32 [n] market maker inventory skew, ticks per lot
    noise: jax.Array  # float32 [n] fundamental-estimate noise, fraction of the fundamental
    aggression: jax.Array  # float32 [n] probability of a market order instead of a limit, [0, 1]
    max_inventory: jax.Array  # int64 [n] position limit, lots (>= 0)
    pair_asset: jax.Array  # int32 [n] second arbitrage leg; INDEX_PAIR (-1) = vs the index

    @property
    def n_agents(self) -> int:
        """Number of agents ``n`` (static)."""
        return self.asset.shape[0]


@struct.dataclass
class BehaviourDistribution:
    """Uniform ranges ``[lo, hi]`` from which :func:`sample_params` draws parameters.

    Integer fields (``size``, ``lookback``, ``spread_ticks``, ``max_inventory``;
    bounds rounded to the nearest integer) are drawn uniformly among the
    integers in ``[lo, hi]`` (both included), float fields uniformly in
    ``[lo, hi]`` (drawn in float64, stored as float32). ``index_fraction`` is
    the probability that an agent's ``pair_asset`` is :data:`INDEX_PAIR`.
    Leaves are floats, so a distribution is a pytree that sweeps can map over.
    """

    size_lo: float = 1.0  # lots
    size_hi: float = 10.0
    threshold_lo: float = 0.001  # units depend on the kind (see DEFAULT_DISTRIBUTIONS)
    threshold_hi: float = 0.01
    lookback_lo: float = 5.0  # history rows
    lookback_hi: float = 20.0
    spread_lo: float = 1.0  # ticks
    spread_hi: float = 5.0
    skew_lo: float = 0.0  # ticks per lot
    skew_hi: float = 0.1
    noise_lo: float = 0.0  # fraction of the fundamental
    noise_hi: float = 0.02
    aggression_lo: float = 0.0  # probability
    aggression_hi: float = 0.3
    max_inventory_lo: float = 50.0  # lots
    max_inventory_hi: float = 500.0
    index_fraction: float = 0.0  # probability, [0, 1]


DEFAULT_DISTRIBUTIONS: dict[str, BehaviourDistribution] = {
    "market_maker": BehaviourDistribution(size_lo=1.0, size_hi=20.0),
    "fundamental": BehaviourDistribution(threshold_lo=0.001, threshold_hi=0.01),
    "momentum": BehaviourDistribution(threshold_lo=0.001, threshold_hi=0.01),
    # threshold is a z-score for mean reversion
    "mean_reversion": BehaviourDistribution(threshold_lo=1.0, threshold_hi=2.5),
    "noise": BehaviourDistribution(size_lo=1.0, size_hi=5.0),
    "arbitrage": BehaviourDistribution(threshold_lo=0.001, threshold_hi=0.01),
}

# (name, lower bound or None, upper bound or None) per range; checked when concrete.
_RANGES = (
    ("size", 1.0, None),
    ("threshold", 0.0, None),
    ("lookback", 1.0, None),
    ("spread", 0.0, None),
    ("skew", None, None),
    ("noise", 0.0, None),
    ("aggression", 0.0, 1.0),
    ("max_inventory", 0.0, None),
)


def _concrete(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


def _validate_distribution(dist: BehaviourDistribution) -> None:
    """Plain-Python range checks (skipped for traced leaves)."""
    for name, lo_ok, hi_ok in _RANGES:
        lo, hi = _concrete(getattr(dist, f"{name}_lo")), _concrete(getattr(dist, f"{name}_hi"))
        if lo is None or hi is None:
            continue
        if lo > hi:
            raise ValueError(f"BehaviourDistribution.{name}_lo={lo} must be <= {name}_hi={hi}")
        if lo_ok is not None and lo < lo_ok:
            raise ValueError(f"BehaviourDistribution.{name}_lo={lo} must be >= {lo_ok}")
        if hi_ok is not None and hi > hi_ok:
            raise ValueError(f"BehaviourDistribution.{name}_hi={hi} must be <= {hi_ok}")
    frac = _concrete(dist.index_fraction)
    if frac is not None and not 0.0 <= frac <= 1.0:
        raise ValueError(f"BehaviourDistribution.index_fraction={frac} must be in [0, 1]")


def sample_params(
    key: jax.Array,
    n: int,
    kind: str,
    dist: BehaviourDistribution | None = None,
    n_assets: int = 1,
    *,
    history_len: int | None = None,
) -> ReactiveParams:
    """Draw ``n`` agents' parameters from uniform ranges.

    Args:
        key: PRNG key (one uniform draw per agent and field).
        n: number of agents (static).
        kind: behaviour name; selects ``DEFAULT_DISTRIBUTIONS[kind]`` when
            ``dist`` is None (a plain :class:`BehaviourDistribution` for kinds
            without an entry, e.g. user behaviours).
        dist: the ranges; see :class:`BehaviourDistribution`.
        n_assets: number of assets ``A`` (static). ``asset`` is uniform in
            ``[0, A)``; ``pair_asset`` is uniform among the *other* assets
            (equal to ``asset`` when ``A == 1``, which makes arbitrage idle),
            or :data:`INDEX_PAIR` with probability ``index_fraction``.
        history_len: if given, ``lookback`` is clipped to ``[1, history_len]``.

    Raises:
        ValueError: bad ``n``, ``n_assets``, ``history_len`` or distribution ranges.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(n_assets, bool) or not isinstance(n_assets, int) or n_assets < 1:
        raise ValueError(f"n_assets must be an int >= 1, got {n_assets!r}")
    if history_len is not None and (not isinstance(history_len, int) or history_len < 1):
        raise ValueError(f"history_len must be an int >= 1 or None, got {history_len!r}")
    if dist is None:
        dist = DEFAULT_DISTRIBUTIONS.get(kind, BehaviourDistribution())
    _validate_distribution(dist)

    return _sample(key, dist, n, n_assets, history_len)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _sample(key, dist, n, n_assets, history_len) -> ReactiveParams:
    # One uniform draw per agent and column (float64 so integer ranges are exact).
    u = jax.random.uniform(key, (n, 11), jnp.float64)

    def integers(col, lo, hi, dtype):
        lo_i = jnp.round(jnp.asarray(lo, jnp.float64))
        hi_i = jnp.round(jnp.asarray(hi, jnp.float64))
        x = jnp.minimum(lo_i + jnp.floor(u[:, col] * (hi_i - lo_i + 1.0)), hi_i)
        return x.astype(dtype)

    def floats(col, lo, hi):
        lo, hi = jnp.asarray(lo, jnp.float64), jnp.asarray(hi, jnp.float64)
        return jnp.minimum(lo + u[:, col] * (hi - lo), hi).astype(F32)

    asset = integers(0, 0, n_assets - 1, I32)
    pair = (asset + integers(1, 1, max(n_assets - 1, 1), I32)) % n_assets if n_assets > 1 else asset
    pair = jnp.where(u[:, 2] < dist.index_fraction, INDEX_PAIR, pair).astype(I32)
    lookback = integers(3, dist.lookback_lo, dist.lookback_hi, I32)
    if history_len is not None:
        lookback = jnp.clip(lookback, 1, history_len)

    return ReactiveParams(
        asset=asset,
        size=integers(4, dist.size_lo, dist.size_hi, I64),
        threshold=floats(5, dist.threshold_lo, dist.threshold_hi),
        lookback=lookback,
        spread_ticks=integers(6, dist.spread_lo, dist.spread_hi, I64),
        skew=floats(7, dist.skew_lo, dist.skew_hi),
        noise=floats(8, dist.noise_lo, dist.noise_hi),
        aggression=floats(9, dist.aggression_lo, dist.aggression_hi),
        max_inventory=integers(10, dist.max_inventory_lo, dist.max_inventory_hi, I64),
        pair_asset=pair,
    )


# ---------------------------------------------------------------------------
# helpers (per agent, scalars)


_MAX_OFFSET = 2.0**53  # float offsets are clipped to +/- this before conversion to int64


def _to_ticks(x: jax.Array) -> jax.Array:
    """Round a float offset to the nearest int64 tick (clipped first, so never undefined)."""
    return jnp.round(jnp.clip(x, -_MAX_OFFSET, _MAX_OFFSET)).astype(I64)


def _room(side: jax.Array, inv: jax.Array, max_inv: jax.Array) -> jax.Array:
    """Lots that can trade on ``side`` without ``|inventory|`` exceeding ``max_inv``."""
    return jnp.maximum(max_inv.astype(I64) - side * inv, 0)


def _sign(x: jax.Array, threshold: jax.Array) -> jax.Array:
    """+1 if ``x > threshold``, -1 if ``x < -threshold``, else 0 (int64)."""
    return jnp.where(x > threshold, 1, jnp.where(x < -threshold, -1, 0)).astype(I64)


def _limit_or_market(u: jax.Array, aggression: jax.Array, limit: jax.Array) -> jax.Array:
    """Market order (price 0) with probability ``aggression``, else the limit clipped >= 1."""
    return jnp.where(u < aggression, MARKET, jnp.maximum(limit, 1)).astype(I64)


def _finish(side, price, qty, asset):
    """Stack two slots and enforce the order invariants (qty == 0 iff side == 0)."""
    side = jnp.stack(side).astype(I64)
    qty = jnp.stack(qty).astype(I64)
    price = jnp.stack(price).astype(I64)
    side = jnp.where(qty > 0, side, 0)
    qty = jnp.where(side != 0, qty, 0)
    price = jnp.where(side != 0, jnp.maximum(price, 0), 0)
    return side, price, qty, jnp.stack(asset).astype(I32)


def _single(side, price, qty, asset):
    """One order in slot 0, nothing in slot 1."""
    zero = jnp.zeros((), I64)
    return _finish((side, zero), (price, zero), (qty, zero), (asset, asset))


def _lookback(p: ReactiveParams, h: int) -> jax.Array:
    return jnp.clip(p.lookback, 1, h).astype(I32)


# ---------------------------------------------------------------------------
# decision rules (one agent)


def market_maker(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Two-sided quotes skewed against inventory (slot 0 bid, slot 1 ask).

    ``ref = (best_bid + best_ask) // 2`` if both sides exist, else ``last_price``;
    ``half = max(ceil(spread_ticks * liquidity_mult), 1)``;
    ``shift = round(skew * inventory)``;
    ``bid = max(ref - half - shift, 1)``, ``ask = max(ref + half - shift, bid + 1)``;
    bid qty ``min(size, max_inventory - inv)``, ask qty ``min(size, max_inventory + inv)``
    (a side with no room is not quoted). No quotes when ``ref <= 0``.
    ``key``, ``cash``, ``threshold``, ``aggression`` are unused.
    """
    del key, cash
    a = p.asset
    bb, ba, last = view.best_bid[a], view.best_ask[a], view.last_price[a]
    ref = jnp.where((bb > 0) & (ba > 0), (bb + ba) // 2, last)
    mult = view.liquidity_mult[a].astype(F32)
    half = jnp.maximum(_to_ticks(jnp.ceil(p.spread_ticks.astype(F32) * mult)), 1)
    inv = inventory[a].astype(I64)
    shift = _to_ticks(p.skew.astype(F32) * inv.astype(F32))
    bid = jnp.maximum(ref - half - shift, 1)
    ask = jnp.maximum(ref + half - shift, bid + 1)
    live = ref > 0
    size = p.size.astype(I64)
    q_bid = jnp.where(live, jnp.minimum(size, _room(1, inv, p.max_inventory)), 0)
    q_ask = jnp.where(live, jnp.minimum(size, _room(-1, inv, p.max_inventory)), 0)
    one = jnp.ones((), I64)
    return _finish((one, -one), (bid, ask), (q_bid, q_ask), (a, a))


def fundamental(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Value trader: trades toward a noisy estimate of the fundamental.

    ``estimate = max(F + round(F * noise * z), 1)``, ``z ~ N(0, 1)``;
    ``rel = (estimate - last) / last``; buy if ``rel > threshold``, sell if
    ``rel < -threshold`` (i.e. estimate beyond ``last * (1 +/- threshold)``);
    ``qty = min(size * clip(floor(|rel| / max(threshold, 1e-4)), 1, SIZE_MULT_CAP), room)``;
    price: market with probability ``aggression``, else limit
    ``last + side * min(spread_ticks, |estimate - last|)`` (never past the estimate).
    """
    del cash
    u = jax.random.uniform(key, (2,), F32, minval=1e-7, maxval=1.0)  # one draw per agent
    a = p.asset
    f, last = view.fundamental[a], view.last_price[a]
    z = ndtri(u[0])  # standard normal by inverse CDF
    est = jnp.maximum(f + _to_ticks(f.astype(F32) * p.noise * z), 1)
    mis = est - last
    rel = mis.astype(F32) / jnp.maximum(last, 1).astype(F32)
    side = jnp.where((last > 0) & (f > 0), _sign(rel, p.threshold), 0)
    scale = jnp.abs(rel) / jnp.maximum(p.threshold, _MIN_THRESHOLD)
    mult = jnp.clip(jnp.floor(scale), 1, SIZE_MULT_CAP).astype(I64)
    inv = inventory[a].astype(I64)
    qty = jnp.minimum(p.size.astype(I64) * mult, _room(side, inv, p.max_inventory))
    limit = last + side * jnp.minimum(p.spread_ticks.astype(I64), jnp.abs(mis))
    price = _limit_or_market(u[1], p.aggression, limit)
    return _single(side, price, qty, a)


def _directional(key, p: ReactiveParams, side, last, inventory, a):
    """One order on ``side``: ``qty = min(size, room)``; market with probability
    ``aggression``, else a limit at ``last + side * spread_ticks``."""
    inv = inventory[a].astype(I64)
    qty = jnp.minimum(p.size.astype(I64), _room(side, inv, p.max_inventory))
    limit = last + side * p.spread_ticks.astype(I64)
    price = _limit_or_market(jax.random.uniform(key, (), F32), p.aggression, limit)
    return _single(side, price, qty, a)


def momentum(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Trend follower on the lookback return.

    ``L = clip(lookback, 1, H)``, ``past = history[H - L]`` (selected by a mask),
    ``r = (last - past) / past``; buy if ``r > threshold``, sell if ``r < -threshold``;
    ``qty = min(size, room)``; market with probability ``aggression``, else
    aggressive limit ``last + side * spread_ticks``.
    """
    del cash
    a = p.asset
    hist = view.history[:, a]
    h = hist.shape[0]
    last = view.last_price[a]
    rows = jnp.arange(h, dtype=I32)
    past = jnp.sum(jnp.where(rows == h - _lookback(p, h), hist, 0))
    r = (last - past).astype(F32) / jnp.maximum(past, 1).astype(F32)
    side = jnp.where((past > 0) & (last > 0), _sign(r, p.threshold), 0)
    return _directional(key, p, side, last, inventory, a)


def mean_reversion(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Bollinger-style contrarian on the z-score of the last price.

    Window: the last ``L = clip(lookback, 1, H)`` history rows (mask ``row >= H - L``);
    ``d = window - last`` (exact int64, then float32), ``z = -mean(d) / std(d)``
    (= (last - mean) / std, population std; ``z = 0`` when std is 0);
    sell if ``z > threshold``, buy if ``z < -threshold``; ``qty = min(size, room)``;
    market with probability ``aggression``, else limit ``last + side * spread_ticks``.
    """
    del cash
    a = p.asset
    hist = view.history[:, a]
    h = hist.shape[0]
    last = view.last_price[a]
    lb = _lookback(p, h)
    mask = jnp.arange(h, dtype=I32) >= h - lb
    d = (hist - last).astype(F32)
    n = lb.astype(F32)
    mean_d = jnp.sum(jnp.where(mask, d, 0.0)) / n
    var = jnp.sum(jnp.where(mask, (d - mean_d) ** 2, 0.0)) / n
    std = jnp.sqrt(var)
    z = jnp.where(std > 0, -mean_d / jnp.where(std > 0, std, 1.0), 0.0)
    side = jnp.where(last > 0, -_sign(z, p.threshold), 0)
    return _directional(key, p, side, last, inventory, a)


def noise(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Noise trader: random side, size and limit offset.

    side = +1 or -1 with probability 1/2; ``qty ~ U{1..size}`` then ``min(qty, room)``;
    market with probability ``aggression``, else limit ``last + o``,
    ``o ~ U{-spread_ticks..spread_ticks}`` (clipped to >= 1). No order if ``last <= 0``.
    """
    del cash
    u = jax.random.uniform(key, (4,), F32)  # one draw per agent: side, offset, size, market
    a = p.asset
    last = view.last_price[a]
    side = jnp.where(u[0] < 0.5, 1, -1).astype(I64)
    side = jnp.where(last > 0, side, 0)
    spread = jnp.maximum(p.spread_ticks.astype(I64), 0)
    off = jnp.minimum(jnp.floor(u[1] * (2 * spread + 1)).astype(I64), 2 * spread) - spread
    size = jnp.maximum(p.size.astype(I64), 1)
    qty = jnp.minimum(jnp.floor(u[2] * size).astype(I64), size - 1) + 1
    inv = inventory[a].astype(I64)
    qty = jnp.minimum(qty, _room(side, inv, p.max_inventory))
    price = _limit_or_market(u[3], p.aggression, last + off)
    return _single(side, price, qty, a)


def arbitrage(key, view: MarketView, p: ReactiveParams, inventory, cash):
    """Relative-value trader: sells the rich leg, buys the cheap one, equal lots.

    Legs: ``a = asset`` (slot 0) and ``b`` (slot 1). Let ``x_k = last_k / F_k``.
    Pair mode (``pair_asset >= 0``): ``b = pair_asset``, ``dev = x_a / x_b - 1``
    (price ratio vs the ratio of fundamentals).
    Index mode (``pair_asset == INDEX_PAIR``): ``dev = x_a / x_I - 1`` with
    ``x_I = sum(w * last) / sum(w * F)``, ``w = index_weights``; the hedge leg ``b``
    is the asset with the largest positive weight other than ``a``.
    ``dev > threshold``: sell ``a``, buy ``b``; ``dev < -threshold``: buy ``a``, sell ``b``.
    ``qty = min(size, room_a, room_b)`` on both legs; prices per leg: market with
    probability ``aggression`` (one draw for both legs), else ``last_k + side_k * spread_ticks``.
    Nothing when ``b`` is missing or equal to ``a`` (e.g. one asset), or a price is 0.
    """
    del cash
    a = p.asset
    n_assets = view.last_price.shape[0]
    last = view.last_price
    fund = view.fundamental
    w = view.index_weights.astype(F32)
    idx = jnp.arange(n_assets, dtype=I32)

    index_mode = p.pair_asset == INDEX_PAIR
    hedge_ok = (idx != a) & (w > 0)
    b_index = jnp.argmax(jnp.where(hedge_ok, w, -jnp.inf)).astype(I32)
    b = jnp.where(index_mode, b_index, p.pair_asset).astype(I32)
    b_ok = jnp.where(index_mode, jnp.any(hedge_ok), (b >= 0) & (b < n_assets)) & (b != a)
    b = jnp.clip(b, 0, n_assets - 1)

    la, lb_, fa, fb = last[a], last[b], fund[a], fund[b]
    x_a = la.astype(F32) / jnp.maximum(fa, 1).astype(F32)
    x_b = lb_.astype(F32) / jnp.maximum(fb, 1).astype(F32)
    wp = jnp.sum(w * last.astype(F32))
    wf = jnp.sum(w * fund.astype(F32))
    x_i = wp / jnp.where(wf > 0, wf, 1.0)
    denom = jnp.where(index_mode, x_i, x_b)
    dev = x_a / jnp.where(denom > 0, denom, 1.0) - 1.0
    prices_ok = (la > 0) & (lb_ > 0) & (fa > 0) & (fb > 0) & (denom > 0)
    side_a = jnp.where(b_ok & prices_ok, -_sign(dev, p.threshold), 0)
    side_b = -side_a

    inv_a, inv_b = inventory[a].astype(I64), inventory[b].astype(I64)
    qty = jnp.minimum(
        p.size.astype(I64),
        jnp.minimum(_room(side_a, inv_a, p.max_inventory), _room(side_b, inv_b, p.max_inventory)),
    )
    u = jax.random.uniform(key, (), F32)
    spread = p.spread_ticks.astype(I64)
    price_a = _limit_or_market(u, p.aggression, la + side_a * spread)
    price_b = _limit_or_market(u, p.aggression, lb_ + side_b * spread)
    side_a = jnp.where(qty > 0, side_a, 0)
    side_b = jnp.where(qty > 0, side_b, 0)
    return _finish((side_a, side_b), (price_a, price_b), (qty, qty), (a, b))


# ---------------------------------------------------------------------------
# batching


_OUT_DTYPES = (("side", I64), ("price", I64), ("qty", I64), ("asset", I32))


def _check_outputs(name: str, out, n: int) -> None:
    """Trace-time check of a rule's outputs (user rules must not return floats)."""
    if not isinstance(out, tuple | list) or len(out) != 4:
        raise ValueError(f"rule {name!r} must return (side, price, qty, asset)")
    for (field, dtype), x in zip(_OUT_DTYPES, out, strict=True):
        if x.dtype != dtype or x.shape != (n, 2):
            raise ValueError(
                f"rule {name!r}: {field} must be {jnp.dtype(dtype).name} of shape [2] per agent, "
                f"got {x.dtype} {x.shape[1:]}"
            )


def batch(rule: Rule) -> ActFn:
    """Per-agent ``rule`` -> jitted batched ``act(key, view, params, inventory, cash) -> Orders``.

    ``key`` is split into one key per agent; ``params`` fields are ``[n]``,
    ``inventory`` int64 ``[n, A]``, ``cash`` int64 ``[n]``; the view is shared.
    """

    name = getattr(rule, "__name__", "rule")

    def act(
        key: jax.Array,
        view: MarketView,
        params: ReactiveParams,
        inventory: jax.Array,
        cash: jax.Array,
    ) -> Orders:
        n = jax.tree.leaves(params)[0].shape[0]
        keys = jax.random.split(key, n)
        out = jax.vmap(rule, in_axes=(0, None, 0, 0, 0))(
            keys, view, params, jnp.asarray(inventory, I64), jnp.asarray(cash, I64)
        )
        _check_outputs(name, out, n)
        return Orders(*out)

    act.__name__ = act.__qualname__ = f"act_{name}"
    act.__doc__ = f"Batched (vmapped, jitted) version of ``{name}``."
    return jax.jit(act)


RULES: dict[str, Rule] = {
    "market_maker": market_maker,
    "fundamental": fundamental,
    "momentum": momentum,
    "mean_reversion": mean_reversion,
    "noise": noise,
    "arbitrage": arbitrage,
}

ACTS: dict[str, ActFn] = {name: batch(rule) for name, rule in RULES.items()}

act_market_maker = ACTS["market_maker"]
act_fundamental = ACTS["fundamental"]
act_momentum = ACTS["momentum"]
act_mean_reversion = ACTS["mean_reversion"]
act_noise = ACTS["noise"]
act_arbitrage = ACTS["arbitrage"]

"""Reactive (rule-based) traders: SoA parameters and per-agent decision rules, vmapped.

Every agent of a kind shares one decision *rule* and differs only in its
parameters, stored as a struct of arrays (:class:`ReactiveParams`, all fields
``[n]``). A rule is a pure per-agent function::

    rule(rand, view, p, inventory, cash) -> (side, price, qty, asset)

with ``p`` one agent's parameters (scalar fields), ``inventory`` int64 ``[A]``
lots, ``cash`` int64 ``[]`` minor units, and outputs of shape ``[k]``: ``k``
order slots, 1 or 2 (dtypes int64, int64, int64, int32). :func:`batch` turns a rule
into a batched ``act(key, view, params, inventory [n, A], cash [n]) -> Orders``
and ``jax.vmap``-s it. ``rand`` is the agent's randomness: for a rule batched
with ``draws=d`` (every built-in rule, see :data:`DRAWS`) it is float32 ``[d]``
uniforms in ``(0, 1)``, drawn for the whole block in one call (a rule is then
a plain function of numbers, and one batched draw is several times cheaper
than a PRNG key per agent); for ``draws=None`` (the default for user rules)
it is the agent's own PRNG key, ``split(key, n)[i]``.

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
    * One-order rules return one slot; the two-sided ones (market maker, arbitrage) two.
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

from quantmarl._xla import fusion_barrier
from quantmarl.agents.view import MARKET, MarketView, Orders

__all__ = [
    "ACTS",
    "DEFAULT_DISTRIBUTIONS",
    "DRAWS",
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
    "uniforms",
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
    """Stack the slots (tuples of scalars, one per slot) and enforce the order
    invariants (qty == 0 iff side == 0)."""
    side = jnp.stack(side).astype(I64)
    qty = jnp.stack(qty).astype(I64)
    price = jnp.stack(price).astype(I64)
    side = jnp.where(qty > 0, side, 0)
    qty = jnp.where(side != 0, qty, 0)
    price = jnp.where(side != 0, jnp.maximum(price, 0), 0)
    return side, price, qty, jnp.stack(asset).astype(I32)


def _single(side, price, qty, asset):
    """One order: outputs of shape [1] (a one-slot rule)."""
    return _finish((side,), (price,), (qty,), (asset,))


def _at(x: jax.Array, a: jax.Array) -> jax.Array:
    """``x[..., a]`` on the last (asset) axis; with one asset a static index (no gather)."""
    return x[..., 0] if x.shape[-1] == 1 else x[..., a]


def _lookback(p: ReactiveParams, h: int) -> jax.Array:
    return jnp.clip(p.lookback, 1, h).astype(I32)


# ---------------------------------------------------------------------------
# decision rules (one agent)


def market_maker(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Two-sided quotes skewed against inventory (slot 0 bid, slot 1 ask).

    ``ref = (best_bid + best_ask) // 2`` if both sides exist, else ``last_price``;
    ``half = max(ceil(spread_ticks * liquidity_mult), 1)``;
    ``shift = round(skew * inventory)``;
    ``bid = max(ref - half - shift, 1)``, ``ask = max(ref + half - shift, bid + 1)``;
    bid qty ``min(size, max_inventory - inv)``, ask qty ``min(size, max_inventory + inv)``
    (a side with no room is not quoted). No quotes when ``ref <= 0``.
    Draws nothing (``u`` is empty); ``cash``, ``threshold``, ``aggression`` are unused.
    """
    del u, cash
    a = p.asset
    bb, ba, last = _at(view.best_bid, a), _at(view.best_ask, a), _at(view.last_price, a)
    ref = jnp.where((bb > 0) & (ba > 0), (bb + ba) // 2, last)
    mult = _at(view.liquidity_mult, a).astype(F32)
    half = jnp.maximum(_to_ticks(jnp.ceil(p.spread_ticks.astype(F32) * mult)), 1)
    inv = _at(inventory, a).astype(I64)
    shift = _to_ticks(p.skew.astype(F32) * inv.astype(F32))
    bid = jnp.maximum(ref - half - shift, 1)
    ask = jnp.maximum(ref + half - shift, bid + 1)
    live = ref > 0
    size = p.size.astype(I64)
    q_bid = jnp.where(live, jnp.minimum(size, _room(1, inv, p.max_inventory)), 0)
    q_ask = jnp.where(live, jnp.minimum(size, _room(-1, inv, p.max_inventory)), 0)
    one = jnp.ones((), I64)
    return _finish((one, -one), (bid, ask), (q_bid, q_ask), (a, a))


def fundamental(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Value trader: trades toward a noisy estimate of the fundamental.

    ``u`` float32 [2]: ``z = ndtri(u[0])`` (standard normal), ``u[1]`` market-or-limit.
    ``estimate = max(F + round(F * noise * z), 1)``;
    ``rel = (estimate - last) / last``; buy if ``rel > threshold``, sell if
    ``rel < -threshold`` (i.e. estimate beyond ``last * (1 +/- threshold)``);
    ``qty = min(size * clip(floor(|rel| / max(threshold, 1e-4)), 1, SIZE_MULT_CAP), room)``;
    price: market with probability ``aggression``, else limit
    ``last + side * min(spread_ticks, |estimate - last|)`` (never past the estimate).
    """
    del cash
    a = p.asset
    f, last = _at(view.fundamental, a), _at(view.last_price, a)
    z = ndtri(u[0])  # standard normal by inverse CDF
    est = jnp.maximum(f + _to_ticks(f.astype(F32) * p.noise * z), 1)
    mis = est - last
    rel = mis.astype(F32) / jnp.maximum(last, 1).astype(F32)
    side = jnp.where((last > 0) & (f > 0), _sign(rel, p.threshold), 0)
    scale = jnp.abs(rel) / jnp.maximum(p.threshold, _MIN_THRESHOLD)
    mult = jnp.clip(jnp.floor(scale), 1, SIZE_MULT_CAP).astype(I64)
    inv = _at(inventory, a).astype(I64)
    qty = jnp.minimum(p.size.astype(I64) * mult, _room(side, inv, p.max_inventory))
    limit = last + side * jnp.minimum(p.spread_ticks.astype(I64), jnp.abs(mis))
    price = _limit_or_market(u[1], p.aggression, limit)
    return _single(side, price, qty, a)


def _directional(u, p: ReactiveParams, side, last, inventory, a):
    """One order on ``side``: ``qty = min(size, room)``; market when ``u < aggression``
    (probability ``aggression``), else a limit at ``last + side * spread_ticks``."""
    inv = _at(inventory, a).astype(I64)
    qty = jnp.minimum(p.size.astype(I64), _room(side, inv, p.max_inventory))
    limit = last + side * p.spread_ticks.astype(I64)
    price = _limit_or_market(u, p.aggression, limit)
    return _single(side, price, qty, a)


def momentum(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Trend follower on the lookback return.

    ``L = clip(lookback, 1, H)``, ``past = history[H - L]``,
    ``r = (last - past) / past``; buy if ``r > threshold``, sell if ``r < -threshold``;
    ``qty = min(size, room)``; market with probability ``aggression``, else
    aggressive limit ``last + side * spread_ticks``. ``u`` float32 [1]: market-or-limit.
    """
    del cash
    a = p.asset
    h = view.history.shape[0]
    last = _at(view.last_price, a)
    past = _at(view.history[h - _lookback(p, h)], a)
    r = (last - past).astype(F32) / jnp.maximum(past, 1).astype(F32)
    side = jnp.where((past > 0) & (last > 0), _sign(r, p.threshold), 0)
    return _directional(u[0], p, side, last, inventory, a)


def mean_reversion(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Bollinger-style contrarian on the z-score of the last price.

    Window: the last ``L = clip(lookback, 1, H)`` history rows; ``d = window - last``
    (exact int64). With ``S1 = sum(d)`` and ``S2 = sum(d**2)`` over the window,
    ``z = -S1 / sqrt(L * S2 - S1**2)`` (= (last - mean) / std, population std;
    ``z = 0`` when std is 0); the sums are float64 cumulative sums over the
    shared history (computed once per asset, not per agent), exact integers
    while ``|d|`` stays below about 1e6 ticks.
    Sell if ``z > threshold``, buy if ``z < -threshold``; ``qty = min(size, room)``;
    market with probability ``aggression``, else limit ``last + side * spread_ticks``.
    ``u`` float32 [1]: market-or-limit.
    """
    del cash
    a = p.asset
    h = view.history.shape[0]
    last = _at(view.last_price, a)
    lb = _lookback(p, h)
    # window sums of the last L rows for every L and asset: [H, A], shared by all agents
    d_all = (view.history - view.last_price[None, :]).astype(jnp.float64)[::-1]
    s1 = _at(jnp.cumsum(d_all, axis=0)[lb - 1], a)
    s2 = _at(jnp.cumsum(d_all * d_all, axis=0)[lb - 1], a)
    var_n2 = jnp.maximum(lb.astype(jnp.float64) * s2 - s1 * s1, 0.0)  # L**2 * variance
    z = jnp.where(var_n2 > 0, -s1 / jnp.sqrt(jnp.where(var_n2 > 0, var_n2, 1.0)), 0.0)
    side = jnp.where(last > 0, -_sign(z, p.threshold.astype(jnp.float64)), 0)
    return _directional(u[0], p, side, last, inventory, a)


def noise(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Noise trader: random side, size and limit offset.

    side = +1 or -1 with probability 1/2; ``qty ~ U{1..size}`` then ``min(qty, room)``;
    market with probability ``aggression``, else limit ``last + o``,
    ``o ~ U{-spread_ticks..spread_ticks}`` (clipped to >= 1). No order if ``last <= 0``.
    ``u`` float32 [4]: side, offset, size, market-or-limit.
    """
    del cash
    a = p.asset
    last = _at(view.last_price, a)
    side = jnp.where(u[0] < 0.5, 1, -1).astype(I64)
    side = jnp.where(last > 0, side, 0)
    spread = jnp.maximum(p.spread_ticks.astype(I64), 0)
    off = jnp.minimum(jnp.floor(u[1] * (2 * spread + 1)).astype(I64), 2 * spread) - spread
    size = jnp.maximum(p.size.astype(I64), 1)
    qty = jnp.minimum(jnp.floor(u[2] * size).astype(I64), size - 1) + 1
    inv = _at(inventory, a).astype(I64)
    qty = jnp.minimum(qty, _room(side, inv, p.max_inventory))
    price = _limit_or_market(u[3], p.aggression, last + off)
    return _single(side, price, qty, a)


def arbitrage(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Relative-value trader: sells the rich leg, buys the cheap one, equal lots.

    Legs: ``a = asset`` (slot 0) and ``b`` (slot 1). Let ``x_k = last_k / F_k``.
    Pair mode (``pair_asset >= 0``): ``b = pair_asset``, ``dev = x_a / x_b - 1``
    (price ratio vs the ratio of fundamentals).
    Index mode (``pair_asset == INDEX_PAIR``): ``dev = x_a / x_I - 1`` with
    ``x_I = sum(w * last) / sum(w * F)``, ``w = index_weights``; the hedge leg ``b``
    is the asset with the largest positive weight other than ``a``.
    ``dev > threshold``: sell ``a``, buy ``b``; ``dev < -threshold``: buy ``a``, sell ``b``.
    ``qty = min(size, room_a, room_b)`` on both legs; prices per leg: market with
    probability ``aggression`` (one draw, ``u[0]``, for both legs), else
    ``last_k + side_k * spread_ticks``.
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
    spread = p.spread_ticks.astype(I64)
    price_a = _limit_or_market(u[0], p.aggression, la + side_a * spread)
    price_b = _limit_or_market(u[0], p.aggression, lb_ + side_b * spread)
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
        if x.dtype != dtype or x.ndim != 2 or x.shape[0] != n or x.shape[1] not in (1, 2):
            raise ValueError(
                f"rule {name!r}: {field} must be {jnp.dtype(dtype).name} of shape [1] or [2] "
                f"(order slots) per agent, got {x.dtype} {x.shape[1:]}"
            )
    if len({x.shape[1] for x in out}) != 1:
        raise ValueError(f"rule {name!r}: side, price, qty and asset must have one slot count, "
                         f"got {[x.shape[1] for x in out]}")


_U_MIN = 1e-7  # uniforms handed to rules lie in [_U_MIN, 1): never 0, so ndtri(u) is finite


def uniforms(key: jax.Array, n: int, draws: int) -> jax.Array:
    """The draws :func:`batch` gives a block of ``n`` agents: float32 ``[n, draws]`` in (0, 1)."""
    return jax.random.uniform(key, (n, draws), F32, minval=_U_MIN, maxval=1.0)


def batch(rule: Rule, draws: int | None = None) -> ActFn:
    """Per-agent ``rule`` -> jitted batched ``act(key, view, params, inventory, cash) -> Orders``
    (fields ``[n, k]``, ``k`` the rule's slot count).

    ``draws=d``: the rule's first argument is float32 ``[d]`` uniforms, row ``i``
    of :func:`uniforms` ``(key, n, d)``; ``draws=None``: it is the agent's PRNG
    key, ``split(key, n)[i]``. ``params`` fields are ``[n]``, ``inventory``
    int64 ``[n, A]``, ``cash`` int64 ``[n]``; the view is shared.
    """

    name = getattr(rule, "__name__", "rule")
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, int)
                              or draws < 0):
        raise ValueError(f"draws must be an int >= 0 or None, got {draws!r}")

    def act(
        key: jax.Array,
        view: MarketView,
        params: ReactiveParams,
        inventory: jax.Array,
        cash: jax.Array,
    ) -> Orders:
        n = jax.tree.leaves(params)[0].shape[0]
        rand = jax.random.split(key, n) if draws is None else uniforms(key, n, draws)
        out = jax.vmap(rule, in_axes=(0, None, 0, 0, 0))(
            rand, view, params, jnp.asarray(inventory, I64), jnp.asarray(cash, I64)
        )
        _check_outputs(name, out, n)
        # computed once here, not again inside every consumer (see fusion_barrier)
        out = fusion_barrier(out, jax.random.key_data(key))
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

# Uniforms each built-in rule uses per agent and step.
DRAWS: dict[str, int] = {"market_maker": 0, "fundamental": 2, "momentum": 1,
                         "mean_reversion": 1, "noise": 4, "arbitrage": 1}

ACTS: dict[str, ActFn] = {name: batch(rule, DRAWS[name]) for name, rule in RULES.items()}

act_market_maker = ACTS["market_maker"]
act_fundamental = ACTS["fundamental"]
act_momentum = ACTS["momentum"]
act_mean_reversion = ACTS["mean_reversion"]
act_noise = ACTS["noise"]
act_arbitrage = ACTS["arbitrage"]

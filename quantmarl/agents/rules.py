"""The built-in per-agent decision rules of reactive (rule-based) traders.

Every agent of a behaviour shares one decision *rule* and differs only in its
parameters (:class:`~quantmarl.agents.params.ReactiveParams`, fields ``[n]``).
A rule is a pure per-agent function::

    rule(rand, view, p, inventory, cash) -> (side, price, qty, asset)

with ``p`` one agent's parameters (scalar fields), ``inventory`` int64 ``[A]``
lots, ``cash`` int64 ``[]`` minor units, and outputs of shape ``[k]``: ``k``
order slots, 1 or 2 (dtypes int64, int64, int64, int32).
:func:`quantmarl.agents.batching.batch` turns a rule into a batched
``act(key, view, params, inventory [n, A], cash [n]) -> Orders`` and
``jax.vmap``-s it. ``rand`` is the agent's randomness: for a rule batched with
``draws=d`` (every built-in rule; ``d`` is in its behaviour record,
:mod:`quantmarl.agents.reactive`) it is float32 ``[d]`` uniforms in ``(0, 1)``,
drawn for the whole block in one call (a rule is then a plain function of
numbers, and one batched draw is several times cheaper than a PRNG key per
agent); for ``draws=None`` (the default for user rules) it is the agent's own
PRNG key, ``split(key, n)[i]``.

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
    * ``view.volatility`` is not used by the built-in rules; every price *offset* in
      ticks (``spread_ticks`` of every rule) is multiplied by ``view.price_scale``
      (traders quote in units of the volatility they observe; 1 = plain ticks) and
      rounded: :func:`_offset`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from quantmarl.agents.params import INDEX_PAIR, ReactiveParams
from quantmarl.agents.view import MARKET, MarketView

__all__ = [
    "SIZE_MULT_CAP",
    "arbitrage",
    "fundamental",
    "market_maker",
    "mean_reversion",
    "momentum",
    "noise",
]

I64 = jnp.int64
I32 = jnp.int32
F32 = jnp.float32

SIZE_MULT_CAP = 4  # fundamental trader: order size is at most SIZE_MULT_CAP * size
_MIN_THRESHOLD = 1e-4  # floor on the threshold used to scale the fundamental trader's size


# ---------------------------------------------------------------------------
# helpers (per agent, scalars)


_MAX_OFFSET = 2.0**53  # float offsets are clipped to +/- this before conversion to int64


def _to_ticks(x: jax.Array) -> jax.Array:
    """Round a float offset to the nearest int64 tick (clipped first, so never undefined)."""
    return jnp.round(jnp.clip(x, -_MAX_OFFSET, _MAX_OFFSET)).astype(I64)


def _offset(view: MarketView, a, spread_ticks: jax.Array) -> jax.Array:
    """``round(spread_ticks * price_scale)`` int64 ticks (>= 0): the agent's offset in units
    of the observed volatility (``view.price_scale`` float32 [A], 1 = plain ticks)."""
    scaled = spread_ticks.astype(F32) * _at(view.price_scale, a).astype(F32)
    return jnp.maximum(_to_ticks(scaled), 0)


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
    ``half = max(ceil(spread_ticks * liquidity_mult * price_scale), 1)``;
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
    mult = _at(view.liquidity_mult, a).astype(F32) * _at(view.price_scale, a).astype(F32)
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
    ``last + side * min(offset, |estimate - last|)`` (never past the estimate), ``offset =
    round(spread_ticks * price_scale)``.
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
    limit = last + side * jnp.minimum(_offset(view, a, p.spread_ticks), jnp.abs(mis))
    price = _limit_or_market(u[1], p.aggression, limit)
    return _single(side, price, qty, a)


def _directional(u, view, p: ReactiveParams, side, last, inventory, a):
    """One order on ``side``: ``qty = min(size, room)``; market when ``u < aggression``
    (probability ``aggression``), else a limit at ``last + side * round(spread_ticks *
    price_scale)``."""
    inv = _at(inventory, a).astype(I64)
    qty = jnp.minimum(p.size.astype(I64), _room(side, inv, p.max_inventory))
    limit = last + side * _offset(view, a, p.spread_ticks)
    price = _limit_or_market(u, p.aggression, limit)
    return _single(side, price, qty, a)


def momentum(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Trend follower on the lookback return.

    ``L = clip(lookback, 1, H)``, ``past = history[H - L]``,
    ``r = (last - past) / past``; buy if ``r > threshold``, sell if ``r < -threshold``;
    ``qty = min(size, room)``; market with probability ``aggression``, else
    aggressive limit ``last + side * round(spread_ticks * price_scale)``. ``u`` float32 [1]:
    market-or-limit.
    """
    del cash
    a = p.asset
    h = view.history.shape[0]
    last = _at(view.last_price, a)
    past = _at(view.history[h - _lookback(p, h)], a)
    r = (last - past).astype(F32) / jnp.maximum(past, 1).astype(F32)
    side = jnp.where((past > 0) & (last > 0), _sign(r, p.threshold), 0)
    return _directional(u[0], view, p, side, last, inventory, a)


def mean_reversion(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Bollinger-style contrarian on the z-score of the last price.

    Window: the last ``L = clip(lookback, 1, H)`` history rows; ``d = window - last``
    (exact int64). With ``S1 = sum(d)`` and ``S2 = sum(d**2)`` over the window,
    ``z = -S1 / sqrt(L * S2 - S1**2)`` (= (last - mean) / std, population std;
    ``z = 0`` when std is 0); the sums are float64 cumulative sums over the
    shared history (computed once per asset, not per agent), exact integers
    while ``|d|`` stays below about 1e6 ticks.
    Sell if ``z > threshold``, buy if ``z < -threshold``; ``qty = min(size, room)``;
    market with probability ``aggression``, else limit ``last + side * round(spread_ticks *
    price_scale)``. ``u`` float32 [1]: market-or-limit.
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
    return _directional(u[0], view, p, side, last, inventory, a)


def noise(u, view: MarketView, p: ReactiveParams, inventory, cash):
    """Noise trader: random side, size and limit offset.

    side = +1 or -1 with probability 1/2; ``qty ~ U{1..size}`` then ``min(qty, room)``;
    market with probability ``aggression``, else limit ``last + o``,
    ``o ~ U{-s..s}`` with ``s = round(spread_ticks * price_scale)`` (clipped to >= 1).
    No order if ``last <= 0``.
    ``u`` float32 [4]: side, offset, size, market-or-limit.
    """
    del cash
    a = p.asset
    last = _at(view.last_price, a)
    side = jnp.where(u[0] < 0.5, 1, -1).astype(I64)
    side = jnp.where(last > 0, side, 0)
    spread = _offset(view, a, p.spread_ticks)
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
    ``last_k + side_k * round(spread_ticks * price_scale[a])``.
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
    spread = _offset(view, a, p.spread_ticks)
    price_a = _limit_or_market(u[0], p.aggression, la + side_a * spread)
    price_b = _limit_or_market(u[0], p.aggression, lb_ + side_b * spread)
    side_a = jnp.where(qty > 0, side_a, 0)
    side_b = jnp.where(qty > 0, side_b, 0)
    return _finish((side_a, side_b), (price_a, price_b), (qty, qty), (a, b))

"""The market step: agents -> orders -> clearing -> exact accounting -> events and record.

``reset(key, config, params) -> MarketState`` and
``step(key, state, smart_actions, config, params) -> (MarketState, StepRecord)``
are pure; ``config`` is static (pass it with ``functools.partial`` or as a jit
static argument) and ``params`` is a pytree that can be vmapped.

Per step: the active events give per-asset effects; the fundamental value
moves; smart actions are decoded, reactive agents act (vmapped per behaviour
block) and the background pool draws its orders; agent orders on halted
assets, outside the price band, or that could breach risk limits are refused
(counted by reason); orders clear either in one uniform-price auction per
asset or through the CDA book in a random arrival order; every execution is
booked in int64 with fees; then prices, volatility, the background intensity
and the circuit breaker are updated.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.agents.background import sample_orders, update_intensity
from quantmarl.agents.registry import SLOTS, Block
from quantmarl.agents.registry import get as get_behaviour
from quantmarl.agents.view import MarketView, Orders
from quantmarl.book import query
from quantmarl.book.auction import clear
from quantmarl.book.cda import cancel_where, empty_fill_log, fill_log_rows, process_logged
from quantmarl.book.state import (
    FILL_MAKER_OWNER,
    FILL_PRICE,
    FILL_QTY,
    FILL_TAKER_OWNER,
    FILL_TAKER_SIDE,
    FIRST_REJECTION,
    NOOP_OWNER,
    MsgType,
    empty_book,
)
from quantmarl.events.circuit_breaker import band_limits, init_breaker, is_halted, update_breaker
from quantmarl.events.effects import effects_at
from quantmarl.events.schedule import EventSchedule, empty_schedule, expire
from quantmarl.market.accounting import (
    account_deltas,
    apply_deltas,
    new_ledger,
    settle,
    within_limits,
)
from quantmarl.market.config import MarketConfig, MarketParams, validate_params
from quantmarl.market.fundamental import fundamental_ticks, step_fundamental
from quantmarl.market.smart import SmartActions, decode, hold
from quantmarl.market.state import N_REJECTIONS, MarketState, StepRecord

# ---------------------------------------------------------------- reset


def _is_concrete(tree) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(tree))


def reset(key: jax.Array, config: MarketConfig, params: MarketParams) -> MarketState:
    """A fresh market: agents' parameters drawn, books empty, prices at ``initial_price``."""
    if _is_concrete(params):
        validate_params(config, params)
    from quantmarl.agents.reactive import sample_params

    a, n = config.n_assets, config.n_agents
    keys = jax.random.split(key, max(len(config.reactive), 1))
    blocks = tuple(
        Block(name=name, params=sample_params(keys[i], count, name, params.behaviours[i], a,
                                              history_len=config.history))
        for i, (name, count) in enumerate(config.reactive)
    )
    cash = jnp.concatenate([jnp.full((n,), params.initial_cash, jnp.int64),
                            jnp.zeros((1,), jnp.int64)])
    position = jnp.concatenate([jnp.full((n, a), params.initial_position, jnp.int64),
                                jnp.zeros((1, a), jnp.int64)])
    price = jnp.asarray(params.initial_price, jnp.int64)
    books = None
    if config.clearing == "cda":
        books = jax.vmap(lambda _: empty_book(config.book_capacity))(jnp.arange(a))
    log_p = jnp.log(price.astype(jnp.float64))
    return MarketState(
        step=jnp.zeros((), jnp.int32),
        ledger=new_ledger(cash, position),
        agents=blocks,
        books=books,
        log_fundamental=log_p,
        log_anchor=log_p,
        last_price=price,
        best_bid=jnp.zeros((a,), jnp.int64),
        best_ask=jnp.zeros((a,), jnp.int64),
        history=jnp.broadcast_to(price[None, :], (config.history, a)),
        volatility=jnp.full((a,), params.fundamental.sigma, jnp.float32),
        bg_intensity=jnp.full((a,), params.background.base_intensity, jnp.float32),
        breaker=init_breaker(price, config.history),
        injected=empty_schedule(config.max_events),
        rejections=jnp.zeros((N_REJECTIONS,), jnp.int64),
    )


# ---------------------------------------------------------------- helpers


def _market_maker_mask(config: MarketConfig) -> np.ndarray:
    """bool [n_accounts]: accounts run by the market-maker behaviour (they requote every step)."""
    mask = np.zeros(config.n_accounts, bool)
    for name, start, count, _ in _groups(config)[1:]:
        if name == "market_maker":
            mask[start : start + count] = True
    return mask


def _groups(config: MarketConfig) -> tuple[tuple[str, int, int, int], ...]:
    """Static order layout: (behaviour, first account, accounts, order slots) per group.

    Group 0 is the smart tier (two slots: quotes); then each reactive block
    with the slots its behaviour uses.
    """
    out = [("smart", 0, config.n_smart, 2)]
    start = config.n_smart
    for name, count in config.reactive:
        out.append((name, start, count, SLOTS[name]))
        start += count
    return tuple(out)


def _concat(parts: list[jax.Array], axis: int = -1) -> jax.Array:
    """``jnp.concatenate`` built from in-place slice writes into one buffer.

    XLA:CPU emits slow code for a fused concatenate of many operands (a branch
    per element); copying each part into place is several times faster. The
    optimization barrier keeps XLA from turning the writes back into a concatenate.
    """
    parts = [p for p in parts if p.shape[axis] > 0]
    if len(parts) == 1:
        return parts[0]
    axis = axis % parts[0].ndim
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    out = jax.lax.optimization_barrier(jnp.zeros(shape, parts[0].dtype))
    offset = 0
    for p in parts:
        start = [0] * len(shape)
        start[axis] = offset
        out = jax.lax.dynamic_update_slice(out, p.astype(out.dtype), start)
        offset += p.shape[axis]
    return out


def _flat(groups: tuple[Orders, ...]) -> tuple[jax.Array, ...]:
    """Per-group orders -> flat (side, price, qty, asset) [m] in account order."""
    return tuple(_concat([getattr(g, f).reshape(-1) for g in groups])
                 for f in ("side", "price", "qty", "asset"))


def _owners(config: MarketConfig) -> np.ndarray:
    """int32 [m]: the account of every flat order slot (static)."""
    return np.concatenate([np.repeat(np.arange(start, start + n), k)
                           for _, start, n, k in _groups(config)]).astype(np.int32)


def _unflat(x: jax.Array, config: MarketConfig) -> list[jax.Array]:
    """Flat [m] -> per-group [n_g, k_g] (inverse of :func:`_flat` for one field)."""
    out, offset = [], 0
    for _, _, n, k in _groups(config):
        out.append(x[offset : offset + n * k].reshape(n, k))
        offset += n * k
    return out


def _by_asset(x: jax.Array, asset: jax.Array) -> jax.Array:
    """``x[asset]`` for a per-asset array ``x`` [A]; a broadcast (no gather) when A == 1."""
    if x.shape[0] == 1:
        return jnp.broadcast_to(x[0], asset.shape)
    return x[asset]


def _held(position: jax.Array, asset: jax.Array) -> jax.Array:
    """Each order owner's position in the order's asset: position [n, A], asset [n, k]."""
    if position.shape[1] == 1:
        return jnp.broadcast_to(position, asset.shape)
    return jnp.take_along_axis(position, asset, axis=1)


def _combined_schedule(params: MarketParams, state: MarketState) -> EventSchedule:
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y]), params.schedule, state.injected)


def _agent_orders(key, state, view, fx, actions, config):
    """Orders per group (smart, then reactive blocks), smart validity, replace-resting [n_agents].

    Group g's orders are ``[n_g, k_g]`` with ``k_g`` the slots its behaviour uses.
    """
    smart, valid, replaces = decode(actions, view)
    groups = [smart]
    seed = jax.random.bits(key, (), jnp.uint64).astype(jnp.int64)  # 64 bits of the step key
    keys = jax.random.split(jax.random.key(seed, impl=config.agent_prng),
                            max(len(state.agents), 1))
    for i, (block, (name, start, n, k)) in enumerate(
            zip(state.agents, _groups(config)[1:], strict=True)):
        out = get_behaviour(name)(keys[i], view, block.params,
                                  state.ledger.position[start : start + n],
                                  state.ledger.cash[start : start + n])
        if out.slots < k:
            raise ValueError(f"behaviour {name!r} returned {out.slots} order slot(s) but is "
                             f"registered with {k} (registry.SLOTS)")
        out = jax.tree.map(lambda x, k=k: x[:, :k], out)
        if name == "market_maker":  # withdraw quotes where the event says so
            gone = fx.withdraw_liquidity[out.asset]
            out = out.replace(side=jnp.where(gone, 0, out.side),
                              price=jnp.where(gone, 0, out.price),
                              qty=jnp.where(gone, 0, out.qty))
        groups.append(out)
    replaces = jnp.concatenate([replaces, jnp.zeros((config.n_reactive,), bool)])
    return tuple(groups), valid, replaces


def _pretrade(state, params, config, groups: tuple[Orders, ...], halted):
    """Refuse agent orders on halted assets, outside the band, or beyond risk limits.

    Returns (groups with refused orders emptied, refusal counts int64 [3]: halted, band, risk).
    """
    lo, hi = band_limits(state.breaker, params.breaker)
    counts = jnp.zeros((3,), jnp.int64)
    out = []
    for g, (_, start, n, _) in zip(groups, _groups(config), strict=True):
        side, price, qty, asset = g.side, g.price, g.qty, g.asset
        active = side != 0
        lo_a, hi_a = _by_asset(lo, asset), _by_asset(hi, asset)
        halt = active & _by_asset(halted, asset)
        band = active & ~halt & (price > 0) & ((price < lo_a) | (price > hi_a))
        # worst fill price of a market buy: the auction band top, or the breaker band (CDA)
        worst_market = _by_asset(state.last_price, asset) + config.auction_band
        if config.clearing == "cda":
            worst_market = jnp.maximum(worst_market, jnp.minimum(hi_a, 2 * worst_market))
        worst = jnp.where(price > 0, price, worst_market)
        held = _held(state.ledger.position[start : start + n], asset)
        risk_ok = within_limits(state.ledger.cash[start : start + n, None], held, params.risk,
                                side, qty, worst, params.tick_value, params.fee_bps)
        risk = active & ~halt & ~band & ~risk_ok
        ok = active & ~halt & ~band & ~risk
        counts = counts + jnp.stack([jnp.sum(halt), jnp.sum(band), jnp.sum(risk)])
        out.append(g.replace(side=jnp.where(ok, side, 0), price=jnp.where(ok, price, 0),
                             qty=jnp.where(ok, qty, 0)))
    return tuple(out), counts


def _per_asset(x, asset, n_assets, fill):
    """[m] -> [A, m]: x where the order is for asset a, else ``fill``."""
    if n_assets == 1:
        return x[None, :]
    mine = asset[None, :] == jnp.arange(n_assets)[:, None]
    return jnp.where(mine, x[None, :], fill)


def _stress_burst(state, fx, halted, flat, bg, config):
    """Flash crash / rally flow: one order per asset, first in the step's arrival order.

    A crash step sells at ``target = floor(last * (1 - sell_pressure))`` with a
    size that meets every buy willing to pay ``target`` or more (this step's
    buys, plus resting bids in CDA mode), so the price trades down to the
    target: a crash of ``m`` over ``d`` steps compounds to ``1 - (1 - m/d)**d``
    (about ``m``). A rally mirrors it with buys. It is booked to the
    background account. Returns BackgroundOrders of shape [A, 1] and the
    auction reference price [A] (the target while a burst is active, so the
    auction's "closest to the reference" tie-break leans toward it).
    """
    n_assets = config.n_assets
    last = state.last_price.astype(jnp.float64)
    down = jnp.floor(last * (1.0 - fx.sell_pressure.astype(jnp.float64))).astype(jnp.int64)
    up = jnp.ceil(last * (1.0 + fx.buy_pressure.astype(jnp.float64))).astype(jnp.int64)
    crash = (fx.sell_pressure > 0) & ~halted
    rally = (fx.buy_pressure > 0) & ~halted & ~crash
    target = jnp.where(crash, jnp.maximum(down, 1), up)
    active = crash | rally
    side, price, qty, asset = flat
    all_side = _concat([_per_asset(side, asset, n_assets, 0), bg.side])
    all_price = _concat([_per_asset(price, asset, n_assets, 0), bg.price])
    all_qty = _concat([_per_asset(qty, asset, n_assets, 0), bg.qty])
    t = target[:, None]
    buys = (all_side == 1) & ((all_price == 0) | (all_price >= t))
    sells = (all_side == -1) & ((all_price == 0) | (all_price <= t))
    def willing():  # only computed on steps with a burst
        return (jnp.sum(jnp.where(buys, all_qty, 0), axis=1),
                jnp.sum(jnp.where(sells, all_qty, 0), axis=1))

    zeros = jnp.zeros((n_assets,), jnp.int64)
    demand, supply = jax.lax.cond(jnp.any(active), willing, lambda: (zeros, zeros))
    if state.books is not None:
        slot = jnp.arange(config.book_capacity)[None, :]

        def resting(book, tgt):
            live = slot < book.count[:, None]
            bids = jnp.sum(jnp.where(live[0] & (book.price[0] >= tgt), book.qty[0], 0))
            asks = jnp.sum(jnp.where(live[1] & (book.price[1] <= tgt), book.qty[1], 0))
            return bids, asks

        bids, asks = jax.vmap(resting)(state.books, target)
        demand, supply = demand + bids, supply + asks
    size = jnp.where(crash, demand, jnp.where(rally, supply, 0)) + 1
    burst = bg.replace(
        side=jnp.where(active, jnp.where(crash, -1, 1), 0).astype(jnp.int64)[:, None],
        price=jnp.where(active, target, 0).astype(jnp.int64)[:, None],
        qty=jnp.where(active, size, 0).astype(jnp.int64)[:, None],
    )
    return burst, jnp.where(active, target, state.last_price)


# ---------------------------------------------------------------- clearing


def _clear_auction(state, params, config, groups, flat, bg, ref_price):
    """One uniform-price auction per asset. Returns ledger deltas and per-asset statistics."""
    n_assets = config.n_assets
    side, price, qty, asset = flat
    s = _concat([_per_asset(side, asset, n_assets, 0), bg.side])
    p = _concat([_per_asset(price, asset, n_assets, 0), bg.price])
    q = _concat([_per_asset(qty, asset, n_assets, 0), bg.qty])
    res = jax.vmap(partial(clear, band=config.auction_band))(s, p, q, ref_price)
    m = side.shape[0]
    filled_agents = _unflat(jnp.sum(res.filled[:, :m], axis=0), config)  # one asset per order
    traded = res.volume > 0
    px = jnp.where(traded, res.price, state.last_price)
    resid = q - res.filled
    buy_left = (s == 1) & (resid > 0) & (p > 0)
    sell_left = (s == -1) & (resid > 0) & (p > 0)
    best_bid = jnp.max(jnp.where(buy_left, p, 0), axis=1)
    best_ask = jnp.min(jnp.where(sell_left, p, jnp.iinfo(jnp.int64).max), axis=1)
    best_ask = jnp.where(jnp.any(sell_left, axis=1), best_ask, 0)
    k = config.depth_levels
    bid_depth = jnp.sum(jnp.where(buy_left & (p > best_bid[:, None] - k), resid, 0), axis=1)
    ask_depth = jnp.sum(jnp.where(sell_left & (p < best_ask[:, None] + k), resid, 0), axis=1)

    # exact settlement at the clearing price: agents row by row, the pool as one account
    parts = [account_deltas(g.side, f, _by_asset(px, g.asset), g.asset, n_assets,
                            params.tick_value,
                            params.fee_bps) for g, f in zip(groups, filled_agents, strict=True)]
    cash = _concat([c for c, _, _ in parts], axis=0)
    pos = _concat([q for _, q, _ in parts], axis=0)
    fees = sum(f for _, _, f in parts)
    bg_asset = jnp.broadcast_to(jnp.arange(n_assets, dtype=jnp.int32)[:, None], bg.side.shape)
    bg_cash, bg_pos, bg_fees = account_deltas(
        bg.side.reshape(1, -1), res.filled[:, m:].reshape(1, -1),
        jnp.broadcast_to(px[:, None], bg.side.shape).reshape(1, -1), bg_asset.reshape(1, -1),
        n_assets, params.tick_value, params.fee_bps)
    deltas = (_concat([cash, bg_cash], axis=0), _concat([pos, bg_pos], axis=0), fees + bg_fees)
    stats = dict(open=px, high=px, low=px, close=px, volume=res.volume,
                 n_trades=jnp.sum(res.filled > 0, axis=1).astype(jnp.int64),
                 best_bid=best_bid, best_ask=best_ask,
                 depth=jnp.stack([bid_depth, ask_depth], axis=1))
    return None, deltas, stats, jnp.zeros((), jnp.int64)


def _clear_cda(key, state, params, config, flat, replaces, halted, bg):
    """Orders arrive in random order at each asset's continuous book."""
    side, price, qty, asset = flat
    n_assets, n_bg = config.n_assets, bg.side.shape[1]
    m = side.shape[0]
    stride = m + n_assets * n_bg  # order slots per step: ids encode the step
    t = state.step.astype(jnp.int64)

    # 1. quote refresh (market makers, QUOTE / CANCEL_ALL learners) and expiry
    requote = jnp.asarray(_market_maker_mask(config))
    requote = requote | jnp.concatenate([replaces, jnp.zeros((1,), bool)])

    def expire(book):
        owner = jnp.clip(book.owner, 0, config.n_accounts - 1)
        age = t - book.order_id // stride
        return cancel_where(book, requote[owner] | (age >= params.order_lifetime))[0]

    books = jax.vmap(expire)(state.books)

    # 2. messages: agents' orders then the background pool's, per asset
    agent_ids = t * stride + jnp.arange(m)
    bg_ids = t * stride + m + jnp.arange(n_assets * n_bg).reshape(n_assets, n_bg)

    def msgs_for(a, bg_side, bg_price, bg_qty, ids_bg):
        live_agent = (asset == a) & (side != 0) & ~halted[a]
        live_bg = (bg_side != 0) & ~halted[a]
        s = jnp.concatenate([side, bg_side])
        p = jnp.concatenate([price, bg_price])
        q = jnp.concatenate([qty, bg_qty])
        live = jnp.concatenate([live_agent, live_bg])
        owner = jnp.concatenate([jnp.asarray(_owners(config)),
                                 jnp.full((n_bg,), config.background_account, jnp.int32)])
        typ = jnp.where(p > 0, MsgType.LIMIT, MsgType.MARKET)
        return jnp.stack([typ, jnp.concatenate([agent_ids, ids_bg]), s, p, q,
                          jnp.where(live, owner, NOOP_OWNER)], axis=1).astype(jnp.int64)

    rows = jax.vmap(msgs_for)(jnp.arange(n_assets), bg.side, bg.price, bg.qty, bg_ids)
    # random arrival order, except that a stress burst (first background slot) arrives first
    n_rows = rows.shape[1]

    def arrival(k):
        rest = jax.random.permutation(k, n_rows - 1)
        return jnp.concatenate([jnp.array([m]), jnp.where(rest >= m, rest + 1, rest)])

    perms = jax.vmap(arrival)(jax.random.split(key, n_assets))
    rows = jnp.take_along_axis(rows, perms[:, :, None], axis=1)

    # 3. the CDA kernel, one book per asset; fills logged in execution order
    max_fills = 2 * rows.shape[1] + 2 * config.book_capacity  # resting + rested + one per taker
    books, logs, results = jax.vmap(process_logged, in_axes=(0, None, 0))(
        books, empty_fill_log(max_fills), rows)
    agent_rows = rows[:, :, 5] < config.background_account
    agent_rows = agent_rows & (rows[:, :, 5] >= 0)
    book_refusals = jnp.sum(agent_rows & (results.status >= FIRST_REJECTION))
    fills = fill_log_rows(logs)  # [A, max_fills, 7]
    qty_f, px_f = fills[..., FILL_QTY], fills[..., FILL_PRICE]
    valid = qty_f > 0
    taker_side = fills[..., FILL_TAKER_SIDE]
    fill_asset = jnp.broadcast_to(jnp.arange(n_assets)[:, None], qty_f.shape).astype(jnp.int32)
    rows_out = dict(
        owner=jnp.concatenate([fills[..., FILL_TAKER_OWNER].reshape(-1),
                               fills[..., FILL_MAKER_OWNER].reshape(-1)]).astype(jnp.int32),
        asset=jnp.concatenate([fill_asset.reshape(-1)] * 2),
        side=jnp.concatenate([taker_side.reshape(-1), -taker_side.reshape(-1)]),
        qty=jnp.concatenate([qty_f.reshape(-1)] * 2),
        price=jnp.concatenate([px_f.reshape(-1)] * 2),
        fee_bps=jnp.concatenate([jnp.full(qty_f.size, params.fee_bps),
                                 jnp.full(qty_f.size, params.maker_fee_bps)]).astype(jnp.int64),
    )
    count = logs.count
    big = jnp.iinfo(jnp.int64).max
    traded = count > 0
    last_idx = jnp.maximum(count - 1, 0)
    close = jnp.where(traded, jnp.take_along_axis(px_f, last_idx[:, None], 1)[:, 0],
                      state.last_price)
    ladders_px, ladders_q = jax.vmap(partial(query.ladder, k=config.depth_levels))(books)
    stats = dict(
        open=jnp.where(traded, px_f[:, 0], state.last_price),
        high=jnp.where(traded, jnp.max(jnp.where(valid, px_f, 0), axis=1), state.last_price),
        low=jnp.where(traded, jnp.min(jnp.where(valid, px_f, big), axis=1), state.last_price),
        close=close,
        volume=jnp.sum(qty_f, axis=1),
        n_trades=count,
        best_bid=jax.vmap(query.best_bid)(books),
        best_ask=jax.vmap(query.best_ask)(books),
        depth=jnp.sum(ladders_q, axis=2),
    )
    del ladders_px
    ledger = settle(state.ledger.replace(
        cash=jnp.zeros_like(state.ledger.cash), position=jnp.zeros_like(state.ledger.position),
        fees_collected=jnp.zeros((), jnp.int64)),
        rows_out["owner"], rows_out["asset"], rows_out["side"], rows_out["qty"],
        rows_out["price"], params.tick_value, rows_out["fee_bps"])
    deltas = (ledger.cash, ledger.position, ledger.fees_collected)
    return books, deltas, stats, book_refusals


# ---------------------------------------------------------------- step


def step(
    key: jax.Array,
    state: MarketState,
    smart_actions: SmartActions,
    config: MarketConfig,
    params: MarketParams,
) -> tuple[MarketState, StepRecord]:
    """Advance the market one step. ``config`` is static; everything else is traced."""
    k_fund, k_agents, k_bg, k_arrival = jax.random.split(key, 4)
    t = state.step
    n_assets = config.n_assets
    fx = effects_at(_combined_schedule(params, state), t, n_assets)
    halted = is_halted(state.breaker, t)

    log_f = step_fundamental(k_fund, state.log_fundamental, state.log_anchor, params.fundamental,
                             fx.vol_mult.astype(jnp.float64),
                             fx.fundamental_jump.astype(jnp.float64))
    fund = fundamental_ticks(log_f)
    view = MarketView(
        last_price=state.last_price, fundamental=fund, best_bid=state.best_bid,
        best_ask=state.best_ask, history=state.history, volatility=state.volatility,
        liquidity_mult=fx.liquidity_mult, index_weights=params.index_weights,
    )
    groups, smart_valid, replaces = _agent_orders(k_agents, state, view, fx, smart_actions, config)
    groups, refusals = _pretrade(state, params, config, groups, halted)
    flat = _flat(groups)

    # background pool: its reference price drifts (sentiment) and leans toward value (the
    # population prices in news and buys back a crash); pushed by stress events, thinned by
    # liquidity shocks
    k_bg, k_drift = jax.random.split(k_bg)
    drift = params.background.drift_sigma * fx.vol_mult * jax.random.normal(k_drift, (n_assets,))
    log_last = jnp.log(state.last_price.astype(jnp.float64))
    lean = params.background.value_pull.astype(jnp.float64) * (log_f - log_last)
    bg_ref = jnp.maximum(jnp.round(jnp.exp(log_last + drift.astype(jnp.float64) + lean)), 1)
    # wider price dispersion under a volatility spike; thinner, wider flow under a liquidity shock
    bg_params = params.background.replace(
        offset_scale=params.background.offset_scale * jnp.max(fx.vol_mult * fx.liquidity_mult))
    bg = sample_orders(k_bg, bg_ref.astype(jnp.int64), state.bg_intensity / fx.liquidity_mult,
                       bg_params, config.background_orders,
                       buy_pressure=fx.buy_pressure, sell_pressure=fx.sell_pressure)
    bg = bg.replace(side=jnp.where(halted[:, None], 0, bg.side),
                    qty=jnp.where(halted[:, None], 0, bg.qty))
    burst, auction_ref = _stress_burst(state, fx, halted, flat, bg, config)
    bg = jax.tree.map(lambda x, y: _concat([y, x]), bg, burst)

    if config.clearing == "auction":
        books, deltas, stats, book_refusals = _clear_auction(
            state, params, config, groups, flat, bg, auction_ref)
    else:
        books, deltas, stats, book_refusals = _clear_cda(
            k_arrival, state, params, config, flat, replaces, halted, bg)
    ledger = apply_deltas(state.ledger, *deltas)

    new_last = stats["close"]
    ret = jnp.log(new_last / state.last_price)
    vol = jnp.sqrt(params.vol_decay * state.volatility.astype(jnp.float64) ** 2
                   + (1 - params.vol_decay) * ret**2).astype(jnp.float32)
    intensity = update_intensity(state.bg_intensity, params.background,
                                 jnp.abs(ret).astype(jnp.float32), state.volatility)
    breaker, _ = update_breaker(state.breaker, new_last, t, params.breaker)
    rejected = jnp.concatenate([
        jnp.sum(~smart_valid, keepdims=True).astype(jnp.int64), refusals,
        jnp.reshape(book_refusals, (1,)).astype(jnp.int64)])
    bid, ask = stats["best_bid"], stats["best_ask"]
    depth = stats["depth"]
    total = depth.sum(axis=1)
    record = StepRecord(
        open=stats["open"], high=stats["high"], low=stats["low"], close=new_last,
        volume=stats["volume"], n_trades=stats["n_trades"], best_bid=bid, best_ask=ask,
        spread=jnp.where((bid > 0) & (ask > 0), ask - bid, -1), depth=depth,
        imbalance=jnp.where(total > 0, (depth[:, 0] - depth[:, 1]) / jnp.maximum(total, 1),
                            0.0).astype(jnp.float32),
        halted=halted, fundamental=fund,
        agent_qty=(ledger.position - state.ledger.position) if config.record_agent_trades
        else None,
        rejected=rejected, fees=ledger.fees_collected - state.ledger.fees_collected,
    )
    new_state = state.replace(
        step=t + 1, ledger=ledger, books=books, log_fundamental=log_f, last_price=new_last,
        best_bid=bid, best_ask=ask,
        history=jnp.concatenate([state.history[1:], new_last[None, :]]),
        volatility=vol, bg_intensity=intensity, breaker=breaker,
        injected=expire(state.injected, t + 1),  # finished injected events free their rows
        rejections=state.rejections + rejected,
    )
    return new_state, record


def run(
    key: jax.Array, config: MarketConfig, params: MarketParams, n_steps: int | None = None
) -> tuple[MarketState, StepRecord]:
    """Reset and run ``n_steps`` (default: the episode length) with every learner holding.

    Returns the final state and the records stacked over time (leading axis ``n_steps``).
    """
    n = config.episode_length if n_steps is None else n_steps
    k_reset, k_run = jax.random.split(key)
    state = reset(k_reset, config, params)
    return _scan(k_run, state, params, config, n)


@partial(jax.jit, static_argnames=("config", "n_steps"))
def _scan(key, state, params, config, n_steps):
    actions = hold(config.n_smart)

    def body(st, k):
        return step(k, st, actions, config, params)

    return jax.lax.scan(body, state, jax.random.split(key, n_steps))

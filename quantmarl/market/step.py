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
from quantmarl.agents.registry import Block, act_blocks
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
from quantmarl.events.schedule import EventSchedule, empty_schedule
from quantmarl.market.accounting import new_ledger, settle, within_limits
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
    start = config.n_smart
    for name, count in config.reactive:
        if name == "market_maker":
            mask[start : start + count] = True
        start += count
    return mask


def _combined_schedule(params: MarketParams, state: MarketState) -> EventSchedule:
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y]), params.schedule, state.injected)


def _agent_orders(key, state, view, fx, actions, config) -> tuple[Orders, jax.Array, jax.Array]:
    """All agents' orders [n_agents, 2], smart validity [n_smart], replace-resting [n_agents]."""
    smart, valid, replaces = decode(actions, view)
    n_smart, n_reactive = config.n_smart, config.n_reactive
    if n_reactive:
        inv = state.ledger.position[n_smart : n_smart + n_reactive]
        cash = state.ledger.cash[n_smart : n_smart + n_reactive]
        reactive = act_blocks(key, view, state.agents, inv, cash)
        mm = jnp.asarray(_market_maker_mask(config)[n_smart : n_smart + n_reactive])
        withdraw = mm[:, None] & fx.withdraw_liquidity[reactive.asset]
        reactive = reactive.replace(side=jnp.where(withdraw, 0, reactive.side),
                                    price=jnp.where(withdraw, 0, reactive.price),
                                    qty=jnp.where(withdraw, 0, reactive.qty))
        orders = jax.tree.map(lambda s, r: jnp.concatenate([s, r]), smart, reactive)
        replaces = jnp.concatenate([replaces, jnp.zeros((n_reactive,), bool)])
    else:
        orders = smart
    return orders, valid, replaces


def _pretrade(state, params, config, orders, owner, halted):
    """Refuse orders on halted assets, outside the band, or beyond risk limits.

    Returns (ok bool [m], per-reason refusal counts int64 [3]).
    """
    side, price, qty, asset = orders
    active = side != 0
    lo, hi = band_limits(state.breaker, params.breaker)
    halt = active & halted[asset]
    band = active & ~halt & (price > 0) & ((price < lo[asset]) | (price > hi[asset]))
    worst = jnp.where(price > 0, price, state.last_price[asset] + config.auction_band)
    if config.clearing == "cda":  # a CDA market buy may sweep the book: bound by the band top
        worst = jnp.where(price > 0, price, jnp.maximum(worst, hi[asset].clip(max=worst * 2)))
    safe_owner = jnp.clip(owner, 0, config.n_accounts - 1)
    risk_ok = within_limits(state.ledger, params.risk, safe_owner, asset, side, qty, worst,
                            params.tick_value, params.fee_bps)
    risk = active & ~halt & ~band & ~risk_ok
    ok = active & ~halt & ~band & ~risk
    return ok, jnp.stack([halt.sum(), band.sum(), risk.sum()]).astype(jnp.int64)


def _per_asset(x, asset, n_assets, fill):
    """[m] -> [A, m]: x where the order is for asset a, else ``fill``."""
    mine = asset[None, :] == jnp.arange(n_assets)[:, None]
    return jnp.where(mine, x[None, :], fill)


def _stress_burst(state, fx, halted, side, price, qty, asset, bg, config):
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
    all_side = jnp.concatenate([_per_asset(side, asset, n_assets, 0), bg.side], axis=1)
    all_price = jnp.concatenate([_per_asset(price, asset, n_assets, 0), bg.price], axis=1)
    all_qty = jnp.concatenate([_per_asset(qty, asset, n_assets, 0), bg.qty], axis=1)
    t = target[:, None]
    buys = (all_side == 1) & ((all_price == 0) | (all_price >= t))
    sells = (all_side == -1) & ((all_price == 0) | (all_price <= t))
    demand = jnp.sum(jnp.where(buys, all_qty, 0), axis=1)
    supply = jnp.sum(jnp.where(sells, all_qty, 0), axis=1)
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
    active = crash | rally
    orders = bg.replace(
        side=jnp.where(active, jnp.where(crash, -1, 1), 0).astype(jnp.int64)[:, None],
        price=jnp.where(active, target, 0).astype(jnp.int64)[:, None],
        qty=jnp.where(active, size, 0).astype(jnp.int64)[:, None],
    )
    return orders, jnp.where(active, target, state.last_price)


# ---------------------------------------------------------------- clearing


def _clear_auction(state, params, config, side, price, qty, asset, bg, ref_price):
    """One uniform-price auction per asset. Returns settlement rows and per-asset statistics."""
    n_assets = config.n_assets
    s = jnp.concatenate([_per_asset(side, asset, n_assets, 0), bg.side], axis=1)
    p = jnp.concatenate([_per_asset(price, asset, n_assets, 0), bg.price], axis=1)
    q = jnp.concatenate([_per_asset(qty, asset, n_assets, 0), bg.qty], axis=1)
    res = jax.vmap(partial(clear, band=config.auction_band))(s, p, q, ref_price)
    m = side.shape[0]
    filled_agents = jnp.sum(res.filled[:, :m], axis=0)  # each order has one asset
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
    n_bg = bg.side.shape[1]
    bg_asset = jnp.broadcast_to(jnp.arange(n_assets)[:, None], (n_assets, n_bg)).reshape(-1)
    rows = dict(
        owner=jnp.concatenate([jnp.repeat(jnp.arange(m // 2, dtype=jnp.int32), 2),
                               jnp.full((n_assets * n_bg,), config.background_account,
                                        jnp.int32)]),
        asset=jnp.concatenate([asset, bg_asset.astype(jnp.int32)]),
        side=jnp.concatenate([side, bg.side.reshape(-1)]),
        qty=jnp.concatenate([filled_agents, res.filled[:, m:].reshape(-1)]),
        price=jnp.concatenate([px[asset], px[bg_asset]]),
    )
    rows["fee_bps"] = jnp.broadcast_to(params.fee_bps, rows["qty"].shape)
    stats = dict(open=px, high=px, low=px, close=px, volume=res.volume,
                 n_trades=jnp.sum(res.filled > 0, axis=1).astype(jnp.int64),
                 best_bid=best_bid, best_ask=best_ask,
                 depth=jnp.stack([bid_depth, ask_depth], axis=1))
    return None, rows, stats, jnp.zeros((), jnp.int64)


def _clear_cda(key, state, params, config, side, price, qty, asset, replaces, halted, bg):
    """Orders arrive in random order at each asset's continuous book."""
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
        owner = jnp.concatenate([jnp.repeat(jnp.arange(m // 2), 2),
                                 jnp.full((n_bg,), config.background_account)])
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
    return books, rows_out, stats, book_refusals


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
    orders, smart_valid, replaces = _agent_orders(k_agents, state, view, fx, smart_actions, config)
    flat = tuple(x.reshape(-1) for x in (orders.side, orders.price, orders.qty, orders.asset))
    owner = jnp.repeat(jnp.arange(config.n_agents, dtype=jnp.int32), 2)
    ok, refusals = _pretrade(state, params, config, flat, owner, halted)
    side = jnp.where(ok, flat[0], 0)
    price = jnp.where(ok, flat[1], 0)
    qty = jnp.where(ok, flat[2], 0)
    asset = flat[3]

    # background pool: pushed by stress events, thinned by liquidity shocks
    k_bg, k_drift = jax.random.split(k_bg)
    drift = params.background.drift_sigma * fx.vol_mult * jax.random.normal(k_drift, (n_assets,))
    bg_ref = jnp.maximum(jnp.round(state.last_price * jnp.exp(drift.astype(jnp.float64))), 1)
    # wider price dispersion under a volatility spike; thinner, wider flow under a liquidity shock
    bg_params = params.background.replace(
        offset_scale=params.background.offset_scale * jnp.max(fx.vol_mult * fx.liquidity_mult))
    bg = sample_orders(k_bg, bg_ref.astype(jnp.int64), state.bg_intensity / fx.liquidity_mult,
                       bg_params, config.background_orders,
                       buy_pressure=fx.buy_pressure, sell_pressure=fx.sell_pressure)
    bg = bg.replace(side=jnp.where(halted[:, None], 0, bg.side),
                    qty=jnp.where(halted[:, None], 0, bg.qty))
    burst, auction_ref = _stress_burst(state, fx, halted, side, price, qty, asset, bg, config)
    bg = jax.tree.map(lambda x, y: jnp.concatenate([y, x], axis=1), bg, burst)

    if config.clearing == "auction":
        books, rows, stats, book_refusals = _clear_auction(
            state, params, config, side, price, qty, asset, bg, auction_ref)
    else:
        books, rows, stats, book_refusals = _clear_cda(
            k_arrival, state, params, config, side, price, qty, asset, replaces, halted, bg)

    ledger = settle(state.ledger, rows["owner"], rows["asset"], rows["side"], rows["qty"],
                    rows["price"], params.tick_value, rows["fee_bps"])

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

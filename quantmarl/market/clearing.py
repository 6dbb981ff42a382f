"""Clearing: one step's orders -> executions, ledger deltas and per-asset statistics.

Two mechanisms, one result (:class:`Cleared`): a uniform-price call auction
per asset (:func:`clear_auction`), or each asset's continuous double auction
book with orders arriving in random order (:func:`clear_cda`). Every
execution is booked in int64 with fees.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.agents.background import BackgroundOrders
from quantmarl.agents.view import Orders
from quantmarl.book import query
from quantmarl.book.auction import clear
from quantmarl.book.cda import cancel_where, process_logged
from quantmarl.book.fills import empty_fill_log, fill_log_rows
from quantmarl.book.state import (
    FILL_MAKER_OWNER,
    FILL_PRICE,
    FILL_QTY,
    FILL_TAKER_OWNER,
    FILL_TAKER_SIDE,
    FIRST_REJECTION,
    MSG_OWNER,
    MSG_PRICE,
    NOOP_OWNER,
    BookState,
    MsgType,
)
from quantmarl.market.accounting import Ledger, account_deltas, fee, notional, settle
from quantmarl.market.config import MarketConfig, MarketParams
from quantmarl.market.halt_queue import Queued
from quantmarl.market.layout import by_asset, concat, owners, per_asset, unflat
from quantmarl.market.orders import quoting_rows
from quantmarl.market.reopen import call_books, with_call
from quantmarl.market.state import MarketState


@struct.dataclass
class Cleared:
    """What one step's clearing produced (A assets, N accounts incl. the background one)."""

    # the books after the step, fields [A, ...]; None in auction mode (nothing rests)
    books: BookState | None
    cash: jax.Array  # int64 [N] cash change per account, minor units (fees included)
    position: jax.Array  # int64 [N, A] position change per account, lots
    fees: jax.Array  # int64 [] fees collected, minor units
    open: jax.Array  # int64 [A] first trade price, ticks (last price if no trade)
    high: jax.Array  # int64 [A] highest trade price, ticks (last price if no trade)
    low: jax.Array  # int64 [A] lowest trade price, ticks (last price if no trade)
    close: jax.Array  # int64 [A] last trade price, ticks (last price if no trade)
    volume: jax.Array  # int64 [A] lots traded
    signed_volume: jax.Array  # int64 [A] buyer- minus seller-initiated lots (aggressor-signed)
    n_trades: jax.Array  # int64 [A] executions
    best_bid: jax.Array  # int64 [A] ticks after clearing, 0 if none
    best_ask: jax.Array  # int64 [A] ticks after clearing, 0 if none
    depth: jax.Array  # int64 [A, 2] lots within depth_levels ticks of the best (bid, ask)
    book_refusals: jax.Array  # int64 [] agent messages the books rejected
    fills: jax.Array | None = None  # int64 [A, F, 9] StepRecord.fills (CDA, config.record_fills)


def clear_auction(
    state: MarketState,
    params: MarketParams,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    flat: tuple[jax.Array, ...],
    bg: BackgroundOrders,
    ref_price: jax.Array,
    queued: Queued,
) -> Cleared:
    """One uniform-price auction per asset (``ref_price`` int64 [A] breaks ties); nothing rests.

    ``flat`` is the agents' orders flattened (:func:`~quantmarl.market.layout.flat`);
    ``queued`` orders (a reopening's, [A, Q]) come first, then agents', then the pool's.
    """
    n_assets = config.n_assets
    side, price, qty, asset = flat
    s = concat([queued.side, per_asset(side, asset, n_assets, 0), bg.side])
    p = concat([queued.price, per_asset(price, asset, n_assets, 0), bg.price])
    q = concat([queued.qty, per_asset(qty, asset, n_assets, 0), bg.qty])
    res = jax.vmap(partial(clear, band=config.auction_band))(s, p, q, ref_price)
    flow = _market_order_flow(s, p, res.filled)
    n_q = queued.side.shape[1]
    m = side.shape[0]
    filled_q, filled_bg = res.filled[:, :n_q], res.filled[:, n_q + m :]
    filled_agents = unflat(jnp.sum(res.filled[:, n_q : n_q + m], axis=0), config)  # one asset each
    traded = res.volume > 0
    px = jnp.where(traded, res.price, state.last_price)
    resid = q - res.filled
    buy_left = (s == 1) & (resid > 0) & (p > 0)
    sell_left = (s == -1) & (resid > 0) & (p > 0)
    # quotes left over: a limit beyond the band counts at its edge, as in the auction
    # (a buy above the top is a bid at the top, a sell below the bottom an ask at the bottom)
    band = config.auction_band
    p = jnp.where(s == 1, jnp.minimum(p, ref_price[:, None] + band),
                  jnp.maximum(p, ref_price[:, None] - band))
    best_bid = jnp.max(jnp.where(buy_left, p, 0), axis=1)
    best_ask = jnp.min(jnp.where(sell_left, p, jnp.iinfo(jnp.int64).max), axis=1)
    best_ask = jnp.where(jnp.any(sell_left, axis=1), best_ask, 0)
    k = config.depth_levels
    bid_depth = jnp.sum(jnp.where(buy_left & (p > best_bid[:, None] - k), resid, 0), axis=1)
    ask_depth = jnp.sum(jnp.where(sell_left & (p < best_ask[:, None] + k), resid, 0), axis=1)

    # exact settlement at the clearing price: agents row by row, the pool as one account
    parts = [account_deltas(g.side, f, by_asset(px, g.asset), g.asset, n_assets,
                            params.tick_value,
                            params.fee_bps) for g, f in zip(group_orders, filled_agents,
                                                             strict=True)]
    cash = concat([c for c, _, _ in parts], axis=0)
    pos = concat([q for _, q, _ in parts], axis=0)
    fees = sum(f for _, _, f in parts)
    # the pool (one account) and a reopening's queued orders (any owner): one scatter
    rows = concat([queued.side, bg.side])
    owner = concat([queued.owner, jnp.full(bg.side.shape, config.background_account, jnp.int32)])
    asset_rows = jnp.broadcast_to(jnp.arange(n_assets, dtype=jnp.int32)[:, None], rows.shape)
    booked = settle(Ledger(concat([cash, jnp.zeros((1,), jnp.int64)], axis=0),
                           concat([pos, jnp.zeros((1, n_assets), jnp.int64)], axis=0), fees),
                    owner.reshape(-1), asset_rows.reshape(-1), rows.reshape(-1),
                    concat([filled_q, filled_bg]).reshape(-1),
                    jnp.broadcast_to(px[:, None], rows.shape).reshape(-1), params.tick_value,
                    params.fee_bps)
    return Cleared(
        books=None, cash=booked.cash, position=booked.position,
        fees=booked.fees_collected, open=px, high=px, low=px, close=px, volume=res.volume,
        signed_volume=flow,
        n_trades=jnp.sum(res.filled > 0, axis=1).astype(jnp.int64),
        best_bid=best_bid, best_ask=best_ask, depth=jnp.stack([bid_depth, ask_depth], axis=1),
        book_refusals=jnp.zeros((), jnp.int64))


def clear_cda(
    key: jax.Array,
    state: MarketState,
    params: MarketParams,
    config: MarketConfig,
    flat: tuple[jax.Array, ...],
    requote: jax.Array,
    halted: jax.Array,
    bg: BackgroundOrders,
    queued: Queued,
) -> Cleared:
    """Orders arrive in random order (``key``) at each asset's continuous book.

    First the resting orders of accounts that requote (bool [N]) and those past
    ``params.order_lifetime`` are cancelled; then reopening assets run their call
    auction of the ``queued`` orders and the book (:mod:`quantmarl.market.reopen`);
    a stress burst (the first background slot) arrives first. ``halted`` bool [A]
    assets take no orders.
    """
    side, price, qty, asset = flat
    n_assets, n_bg = config.n_assets, bg.side.shape[1]
    m = side.shape[0]
    stride = order_stride(config)  # order ids per step: ids encode the step
    if stride < m + n_assets * (n_bg + config.halt_queue):
        raise ValueError(f"order_stride {stride} < {m + n_assets * (n_bg + config.halt_queue)} "
                         "order ids per step")
    t = state.step.astype(jnp.int64)
    gone = jax.vmap(partial(leaving, requote=requote, step=state.step, params=params,
                            config=config))(state.books)
    books = jax.vmap(lambda b, g: cancel_where(b, g)[0])(state.books, gone)
    books, call = call_books(books, queued, state.last_price, config,
                             t * stride + m + n_assets * n_bg)
    rows = _arrivals(key, config, params, flat, halted, bg, t * stride)
    # the CDA kernel, one book per asset; fills logged in execution order
    max_fills = 2 * rows.shape[1] + 2 * config.book_capacity  # resting + rested + one per taker
    books, logs, results = jax.vmap(process_logged, in_axes=(0, None, 0))(
        books, empty_fill_log(max_fills), rows)
    agent_rows = rows[:, :, MSG_OWNER] < config.background_account
    agent_rows = agent_rows & (rows[:, :, MSG_OWNER] >= 0)
    book_refusals = jnp.sum(agent_rows & (results.status >= FIRST_REJECTION))
    fills = fill_log_rows(logs)  # [A, max_fills, 7]
    qty_f, px_f = fills[..., FILL_QTY], fills[..., FILL_PRICE]
    valid = qty_f > 0
    taker_side = fills[..., FILL_TAKER_SIDE]
    fill_asset = jnp.broadcast_to(jnp.arange(n_assets)[:, None], qty_f.shape).astype(jnp.int32)
    # one settlement for the reopening call (at its price, taker fee) and the fills
    call_asset = jnp.broadcast_to(jnp.arange(n_assets, dtype=jnp.int32)[:, None],
                                  call.side.shape)
    ledger = settle(
        state.ledger.replace(cash=jnp.zeros_like(state.ledger.cash),
                             position=jnp.zeros_like(state.ledger.position),
                             fees_collected=jnp.zeros((), jnp.int64)),
        jnp.concatenate([fills[..., FILL_TAKER_OWNER].reshape(-1),
                         fills[..., FILL_MAKER_OWNER].reshape(-1),
                         call.owner.reshape(-1)]).astype(jnp.int32),
        jnp.concatenate([fill_asset.reshape(-1)] * 2 + [call_asset.reshape(-1)]),
        jnp.concatenate([taker_side.reshape(-1), -taker_side.reshape(-1),
                         call.side.reshape(-1)]),
        jnp.concatenate([qty_f.reshape(-1)] * 2 + [call.filled.reshape(-1)]),
        jnp.concatenate([px_f.reshape(-1)] * 2
                        + [jnp.broadcast_to(call.price[:, None], call.side.shape).reshape(-1)]),
        params.tick_value,
        jnp.concatenate([jnp.full(qty_f.size, params.fee_bps),
                         jnp.full(qty_f.size, params.maker_fee_bps),
                         jnp.full(call.side.size, params.fee_bps)]).astype(jnp.int64))
    count = logs.count
    big = jnp.iinfo(jnp.int64).max
    traded = count > 0
    last_idx = jnp.maximum(count - 1, 0)
    _, ladder_qty = jax.vmap(partial(query.ladder, k=config.depth_levels))(books)
    return with_call(Cleared(
        books=books, cash=ledger.cash, position=ledger.position, fees=ledger.fees_collected,
        open=jnp.where(traded, px_f[:, 0], state.last_price),
        high=jnp.where(traded, jnp.max(jnp.where(valid, px_f, 0), axis=1), state.last_price),
        low=jnp.where(traded, jnp.min(jnp.where(valid, px_f, big), axis=1), state.last_price),
        close=jnp.where(traded, jnp.take_along_axis(px_f, last_idx[:, None], 1)[:, 0],
                        state.last_price),
        volume=jnp.sum(qty_f, axis=1), signed_volume=jnp.sum(taker_side * qty_f, axis=1),
        n_trades=count,
        best_bid=jax.vmap(query.best_bid)(books), best_ask=jax.vmap(query.best_ask)(books),
        depth=jnp.sum(ladder_qty, axis=2), book_refusals=book_refusals,
        fills=_fill_record(fills, params) if config.record_fills else None), call)


def _fill_record(fills: jax.Array, params: MarketParams) -> jax.Array:
    """int64 [A, F, 9]: the fill log's rows and the taker and maker fees each paid (minor
    units, as :func:`settle` charges them)."""
    value = notional(fills[..., FILL_QTY], fills[..., FILL_PRICE], params.tick_value)
    return jnp.concatenate([fills, fee(value, params.fee_bps)[..., None],
                            fee(value, params.maker_fee_bps)[..., None]], axis=-1)


def _market_order_flow(side: jax.Array, price: jax.Array, filled: jax.Array) -> jax.Array:
    """int64 [A]: signed lots of the market orders (price 0) an auction executed, from
    rows [A, n]. A call auction has no taker; market orders are its aggressive side, and
    limits that cross each other count for neither side."""
    return jnp.sum(jnp.where(price == 0, side * filled, 0), axis=1).astype(jnp.int64)


def order_stride(config: MarketConfig) -> int:
    """Order ids per step in CDA mode (agents' slots, background slots and the burst's, then
    a reopening's queued orders): an order's id is ``step * order_stride + slot``."""
    return len(owners(config)) + config.n_assets * (config.background_orders + 1
                                                    + config.halt_queue)


def leaving(book: BookState, requote: jax.Array, step: jax.Array, params: MarketParams,
            config: MarketConfig) -> jax.Array:
    """bool [2, cap]: resting orders cancelled as step ``step`` begins: those of accounts
    that requote (``requote`` bool [N]) and those ``params.order_lifetime`` steps old."""
    owner = jnp.clip(book.owner, 0, config.n_accounts - 1)
    age = step.astype(jnp.int64) - book.order_id // order_stride(config)
    return requote[owner] | (age >= params.order_lifetime)


def _arrivals(key, config, params, flat, halted, bg, first_id) -> jax.Array:
    """int64 [A, m + n_bg, 6] CDA message rows per asset in arrival order: agents' orders then
    the pool's, shuffled, except that the first background slot (a crash's or rally's burst,
    a limit at its target) comes first
    and each quote of a requoting behaviour (market makers) comes, with probability
    ``params.quote_priority``, before the other orders (quotes refreshed around the current
    mid as the step opens; random order among them). Order ids are ``first_id`` + slot; rows
    of other assets or halted assets are no-ops."""
    side, price, qty, asset = flat
    n_assets, n_bg = config.n_assets, bg.side.shape[1]
    m = side.shape[0]
    agent_ids = first_id + jnp.arange(m)
    bg_ids = first_id + m + jnp.arange(n_assets * n_bg).reshape(n_assets, n_bg)

    def msgs_for(a, bg_side, bg_price, bg_qty, ids_bg):
        live_agent = (asset == a) & (side != 0) & ~halted[a]
        live_bg = (bg_side != 0) & ~halted[a]
        s = jnp.concatenate([side, bg_side])
        p = jnp.concatenate([price, bg_price])
        q = jnp.concatenate([qty, bg_qty])
        live = jnp.concatenate([live_agent, live_bg])
        owner = jnp.concatenate([jnp.asarray(owners(config)),
                                 jnp.full((n_bg,), config.background_account, jnp.int32)])
        typ = jnp.where(p > 0, MsgType.LIMIT, MsgType.MARKET)
        return jnp.stack([typ, jnp.concatenate([agent_ids, ids_bg]), s, p, q,
                          jnp.where(live, owner, NOOP_OWNER)], axis=1).astype(jnp.int64)

    rows = jax.vmap(msgs_for)(jnp.arange(n_assets), bg.side, bg.price, bg.qty, bg_ids)
    n_rows = rows.shape[1]

    quoting = jnp.asarray(quoting_rows(config))

    def arrival(k, first_slot):  # sort keys: the burst's slot -2 (unless at market),
        # quotes sent first in [-1, 0), the rest in [0, 1)
        k_place, k_first = jax.random.split(k)
        place = jax.random.uniform(k_place, (n_rows,), jnp.float32)
        first = quoting & (jax.random.uniform(k_first, (m,), jnp.float32)
                           < params.quote_priority.astype(jnp.float32))
        keys = place - concat([first.astype(jnp.float32), jnp.zeros((n_rows - m,), jnp.float32)])
        return jnp.argsort(keys.at[m].set(jnp.where(first_slot, -2.0, keys[m])))

    # a crash's or rally's burst (a limit at its target) comes first; a sell program's
    # market order (price 0) arrives at a random place among the step's orders
    at_market = (rows[:, m, MSG_PRICE] == 0) & (rows[:, m, MSG_OWNER] != NOOP_OWNER)
    perms = jax.vmap(arrival)(jax.random.split(key, n_assets), ~at_market)
    return jnp.take_along_axis(rows, perms[:, :, None], axis=1)

"""Pre-trade checks: agent orders outside the price band or beyond risk limits are refused
(emptied) and counted by reason; orders queued for an asset that reopens are admitted again.

The risk check (:mod:`quantmarl.market.risk`) counts each agent's resting
orders (CDA mode), its orders queued for halted assets
(:mod:`quantmarl.market.halt_queue`) and all its orders of the step together,
fees included; a market buy is priced at the highest price it could fill at
(:func:`market_buy_bound`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from quantmarl.agents.background import BackgroundOrders
from quantmarl.agents.view import Orders
from quantmarl.book.state import ASK
from quantmarl.events.circuit_breaker import band_limits
from quantmarl.market.clearing import leaving
from quantmarl.market.config import MarketConfig, MarketParams
from quantmarl.market.halt_queue import HaltQueue, Queued, release
from quantmarl.market.layout import by_asset, flat, groups, held, per_asset
from quantmarl.market.rare import rare
from quantmarl.market.risk import admit, plus, queued_exposure, resting_exposure, room
from quantmarl.market.state import MarketState


def market_buy_bound(
    state: MarketState,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    bg: BackgroundOrders,
    reference: jax.Array,
    queue: HaltQueue | None = None,
    reopen: jax.Array | None = None,
) -> jax.Array:
    """int64 [A] ticks: no buy of this step fills above it.

    Auction: the top of the band around the auction's ``reference`` int64 [A].
    CDA: a buy fills only against asks: those resting now, this step's agent
    and background asks, a crash burst (at or below the last price) and the
    asks in the ``queue`` of assets that reopen (``reopen`` bool [A]).
    """
    if config.clearing == "auction":
        return reference + config.auction_band
    books = state.books
    top_resting = jnp.where(books.count[:, ASK] > 0, books.price[:, ASK, 0], 0)  # worst first
    side, price, _, asset = flat(group_orders)
    agent_asks = per_asset(jnp.where(side < 0, price, 0), asset, config.n_assets, 0)
    bg_asks = jnp.where(bg.side < 0, bg.price, 0)
    bound = jnp.maximum(jnp.maximum(state.last_price, top_resting),
                        jnp.maximum(jnp.max(agent_asks, axis=1, initial=0),
                                    jnp.max(bg_asks, axis=1, initial=0)))
    if queue is None:
        return bound
    queued_asks = jnp.where(reopen[:, None] & (queue.side < 0), queue.price, 0)
    return jnp.maximum(bound, jnp.max(queued_asks, axis=1, initial=0))


def pretrade(
    state: MarketState,
    params: MarketParams,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    requote: jax.Array,
    worst_buy: jax.Array,
    reopen: jax.Array,
) -> tuple[tuple[Orders, ...], jax.Array, Queued]:
    """Release the halt queue of reopening assets (``reopen`` bool [A]), then refuse agent
    orders outside the band or beyond risk limits (orders for halted assets are checked as
    any other: they will queue).

    ``requote`` bool [N] marks accounts whose resting orders are cancelled this step (CDA);
    ``worst_buy`` int64 [A] is :func:`market_buy_bound`. Queued orders are counted only on
    steps where some queue holds any (:func:`~quantmarl.market.rare.rare`). Returns (groups
    with refused orders emptied, refusal counts int64 [3]: halted (none: halted assets
    queue), band, risk; the released queue).
    """
    lo, hi = band_limits(state.breaker, params.breaker)
    risk, ledger, tick_value = params.risk, state.ledger, params.tick_value
    if config.clearing == "cda":  # a resting buy may fill as maker or taker
        fee_bps = jnp.maximum(params.fee_bps, params.maker_fee_bps)
        gone = jax.vmap(lambda b: leaving(b, requote, state.step, params, config))(state.books)
        resting = resting_exposure(state.books, gone, config.n_accounts, tick_value, fee_bps)
    else:
        fee_bps, resting = params.fee_bps, None
    q = state.halt_queue
    layout = groups(config)
    assets = tuple(g.asset for g in group_orders)
    work = partial(_queued, rows=tuple((g.start, g.count) for g in layout),
                   pool=config.background_account, cda=config.clearing == "cda")
    keep, requeue_risk, taken = rare(
        jnp.any(q.count > 0), work, _nothing_queued, q, reopen, worst_buy, ledger, risk, resting,
        (state.books.price if config.clearing == "cda" else None, state.last_price),
        (tick_value, fee_bps), assets)
    released = Queued(side=jnp.where(keep, q.side, 0), price=jnp.where(keep, q.price, 0),
                      qty=jnp.where(keep, q.qty, 0), owner=q.owner, reopen=reopen)
    lower = jnp.where(risk.allow_short, -risk.max_position, 0)
    counts = jnp.zeros((3,), jnp.int64).at[2].add(requeue_risk)
    out = []
    for g, group, (q_cost, q_long, q_short) in zip(group_orders, layout, taken, strict=True):
        rows = slice(group.start, group.start + group.count)
        side, price, qty, asset = g.side, g.price, g.qty, g.asset
        active = side != 0
        lo_a, hi_a = by_asset(lo, asset), by_asset(hi, asset)
        band = active & (price > 0) & ((price < lo_a) | (price > hi_a))
        position = held(ledger.position[rows], asset)
        cash_room = ledger.cash[rows] - risk.min_cash - q_cost
        long_room = risk.max_position - position - q_long
        short_room = position - lower - q_short
        if resting is not None:
            cash_room = cash_room - resting.buy_cost[rows]
            long_room = long_room - held(resting.buy_qty[rows], asset)
            short_room = short_room - held(resting.sell_qty[rows], asset)
        worst = jnp.where(price > 0, price, by_asset(worst_buy, asset))
        ok = admit(active & ~band, side, qty, worst, asset, cash_room, long_room, short_room,
                   tick_value, fee_bps)
        refused = active & ~band & ~ok
        counts = counts + jnp.stack([jnp.zeros((), jnp.int64), jnp.sum(band), jnp.sum(refused)])
        out.append(g.replace(side=jnp.where(ok, side, 0), price=jnp.where(ok, price, 0),
                             qty=jnp.where(ok, qty, 0)))
    return tuple(out), counts, released


def _nothing_queued(q, reopen, worst_buy, ledger, risk, resting, books, fees, assets):
    n = lambda x: jnp.zeros(x.shape[:1], jnp.int64)  # noqa: E731
    z = lambda x: jnp.zeros(x.shape, jnp.int64)  # noqa: E731
    return (jnp.zeros(q.side.shape, bool), jnp.zeros((), jnp.int64),
            tuple((n(a), z(a), z(a)) for a in assets))


def _queued(q, reopen, worst_buy, ledger, risk, resting, books, fees, assets, rows, pool, cda):
    """Some queue holds orders: re-admit reopening assets' queued orders, then what all queued
    orders take from each group's room: per group (cash int64 [n], long and short lots int64
    [n, k] in each slot's asset)."""
    tick_value, fee_bps = fees
    book_price, last = books
    n_accounts = ledger.cash.shape[0]
    worst = worst_buy
    if cda:  # a reopening call clears at most at its highest limit (or the last price)
        top = jnp.maximum(jnp.max(book_price, axis=(1, 2)), jnp.max(q.price, axis=1))
        worst = jnp.where(reopen, jnp.maximum(top, last), worst_buy)
    waiting = queued_exposure(jnp.where(reopen[:, None], 0, q.side), q.price, q.qty, q.owner,
                              worst, n_accounts, tick_value, fee_bps)
    released, refused = release(q, reopen, room(ledger, risk, waiting if resting is None
                                                 else plus(resting, waiting)),
                                worst, tick_value, fee_bps, pool)
    total = plus(waiting, queued_exposure(released.side, released.price, released.qty,
                                          released.owner, worst, n_accounts, tick_value,
                                          fee_bps))
    taken = tuple((total.buy_cost[s : s + c], held(total.buy_qty[s : s + c], a),
                   held(total.sell_qty[s : s + c], a)) for (s, c), a in zip(rows, assets,
                                                                              strict=True))
    return released.side != 0, refused, taken

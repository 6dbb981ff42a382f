"""Pre-trade checks: agent orders outside the price band or beyond risk limits are refused
(emptied) and counted by reason; orders queued for an asset that reopens are admitted again.

The risk check (:mod:`quantmarl.market.risk`) counts each agent's resting
orders (CDA mode), its orders queued for halted assets
(:mod:`quantmarl.market.halt_queue`) and all its orders of the step together,
fees included; a market buy is priced at the highest price it could fill at
(:func:`market_buy_bound`).
"""

from __future__ import annotations

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
from quantmarl.market.risk import (
    admit,
    no_exposure,
    plus,
    queued_exposure,
    resting_exposure,
    room,
)
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
    worst_queued: jax.Array,
    reopen: jax.Array,
) -> tuple[tuple[Orders, ...], jax.Array, Queued]:
    """Release the halt queue of reopening assets (``reopen`` bool [A]), then refuse agent
    orders outside the band or beyond risk limits (orders for halted assets are checked as
    any other: they will queue).

    ``requote`` bool [N] marks accounts whose resting orders are cancelled this step (CDA);
    ``worst_buy`` int64 [A] is :func:`market_buy_bound`; ``worst_queued`` int64 [A] prices
    queued market buys. Returns (groups with refused orders emptied, refusal counts int64
    [3]: halted (none: halted assets queue), band, risk; the released queue).
    """
    lo, hi = band_limits(state.breaker, params.breaker)
    n_accounts, tick_value = config.n_accounts, params.tick_value
    if config.clearing == "cda":  # a resting buy may fill as maker or taker
        fee_bps = jnp.maximum(params.fee_bps, params.maker_fee_bps)
        gone = jax.vmap(lambda b: leaving(b, requote, state.step, params, config))(state.books)
        resting = resting_exposure(state.books, gone, n_accounts, tick_value, fee_bps)
    else:
        fee_bps, resting = params.fee_bps, no_exposure(n_accounts, config.n_assets)
    q = state.halt_queue
    waiting = plus(resting, queued_exposure(jnp.where(reopen[:, None], 0, q.side), q.price,
                                            q.qty, q.owner, worst_queued, n_accounts,
                                            tick_value, fee_bps))
    released, requeue_risk = release(q, reopen, room(state.ledger, params.risk, waiting),
                                     worst_queued, tick_value, fee_bps,
                                     config.background_account)
    left = room(state.ledger, params.risk, plus(waiting, queued_exposure(
        released.side, released.price, released.qty, released.owner, worst_queued, n_accounts,
        tick_value, fee_bps)))
    counts = jnp.zeros((3,), jnp.int64).at[2].add(requeue_risk)
    out = []
    for g, group in zip(group_orders, groups(config), strict=True):
        rows = slice(group.start, group.start + group.count)
        side, price, qty, asset = g.side, g.price, g.qty, g.asset
        active = side != 0
        lo_a, hi_a = by_asset(lo, asset), by_asset(hi, asset)
        band = active & (price > 0) & ((price < lo_a) | (price > hi_a))
        worst = jnp.where(price > 0, price, by_asset(worst_buy, asset))
        ok = admit(active & ~band, side, qty, worst, asset, left.cash[rows],
                   held(left.long[rows], asset), held(left.short[rows], asset), tick_value,
                   fee_bps)
        refused = active & ~band & ~ok
        counts = counts + jnp.stack([jnp.zeros((), jnp.int64), jnp.sum(band), jnp.sum(refused)])
        out.append(g.replace(side=jnp.where(ok, side, 0), price=jnp.where(ok, price, 0),
                             qty=jnp.where(ok, qty, 0)))
    return tuple(out), counts, released

"""Pre-trade checks: agent orders on halted assets, outside the price band, or beyond
risk limits are refused (emptied) and counted by reason.

The risk check (:mod:`quantmarl.market.risk`) counts each agent's resting
orders (CDA mode) and all its orders of the step together, fees included; a
market buy is priced at the highest price it could fill at
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
from quantmarl.market.layout import by_asset, flat, groups, held, per_asset
from quantmarl.market.risk import admit, resting_exposure
from quantmarl.market.state import MarketState


def market_buy_bound(
    state: MarketState,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    bg: BackgroundOrders,
    reference: jax.Array,
) -> jax.Array:
    """int64 [A] ticks: no buy of this step fills above it.

    Auction: the top of the band around the auction's ``reference`` int64 [A].
    CDA: a buy fills only against asks: those resting now, this step's agent
    and background asks, and a crash burst (at or below the last price).
    """
    if config.clearing == "auction":
        return reference + config.auction_band
    books = state.books
    top_resting = jnp.where(books.count[:, ASK] > 0, books.price[:, ASK, 0], 0)  # worst first
    side, price, _, asset = flat(group_orders)
    agent_asks = per_asset(jnp.where(side < 0, price, 0), asset, config.n_assets, 0)
    bg_asks = jnp.where(bg.side < 0, bg.price, 0)
    return jnp.maximum(jnp.maximum(state.last_price, top_resting),
                       jnp.maximum(jnp.max(agent_asks, axis=1, initial=0),
                                   jnp.max(bg_asks, axis=1, initial=0)))


def pretrade(
    state: MarketState,
    params: MarketParams,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    halted: jax.Array,
    requote: jax.Array,
    worst_buy: jax.Array,
) -> tuple[tuple[Orders, ...], jax.Array]:
    """Refuse agent orders on halted assets (``halted`` bool [A]), outside the band, or
    beyond risk limits. ``requote`` bool [N] marks accounts whose resting orders are
    cancelled this step (CDA); ``worst_buy`` int64 [A] is :func:`market_buy_bound`.

    Returns (groups with refused orders emptied, refusal counts int64 [3]: halted, band, risk).
    """
    lo, hi = band_limits(state.breaker, params.breaker)
    risk, ledger = params.risk, state.ledger
    if config.clearing == "cda":  # a resting buy may fill as maker or taker
        fee_bps = jnp.maximum(params.fee_bps, params.maker_fee_bps)
        gone = jax.vmap(lambda b: leaving(b, requote, state.step, params, config))(state.books)
        resting = resting_exposure(state.books, gone, config.n_accounts, params.tick_value,
                                   fee_bps)
    else:
        fee_bps, resting = params.fee_bps, None
    lower = jnp.where(risk.allow_short, -risk.max_position, 0)
    counts = jnp.zeros((3,), jnp.int64)
    out = []
    for g, group in zip(group_orders, groups(config), strict=True):
        rows = slice(group.start, group.start + group.count)
        side, price, qty, asset = g.side, g.price, g.qty, g.asset
        active = side != 0
        lo_a, hi_a = by_asset(lo, asset), by_asset(hi, asset)
        halt = active & by_asset(halted, asset)
        band = active & ~halt & (price > 0) & ((price < lo_a) | (price > hi_a))
        position = held(ledger.position[rows], asset)
        cash_room = ledger.cash[rows] - risk.min_cash
        long_room = risk.max_position - position
        short_room = position - lower
        if resting is not None:
            cash_room = cash_room - resting.buy_cost[rows]
            long_room = long_room - held(resting.buy_qty[rows], asset)
            short_room = short_room - held(resting.sell_qty[rows], asset)
        worst = jnp.where(price > 0, price, by_asset(worst_buy, asset))
        ok = admit(active & ~halt & ~band, side, qty, worst, asset, cash_room, long_room,
                   short_room, params.tick_value, fee_bps)
        refused = active & ~halt & ~band & ~ok
        counts = counts + jnp.stack([jnp.sum(halt), jnp.sum(band), jnp.sum(refused)])
        out.append(g.replace(side=jnp.where(ok, side, 0), price=jnp.where(ok, price, 0),
                             qty=jnp.where(ok, qty, 0)))
    return tuple(out), counts

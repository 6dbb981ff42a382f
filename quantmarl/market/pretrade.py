"""Pre-trade checks: agent orders on halted assets, outside the price band, or beyond
risk limits are refused (emptied) and counted by reason."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from quantmarl.agents.view import Orders
from quantmarl.events.circuit_breaker import band_limits
from quantmarl.market.accounting import within_limits
from quantmarl.market.config import MarketConfig, MarketParams
from quantmarl.market.layout import by_asset, groups, held
from quantmarl.market.state import MarketState


def pretrade(
    state: MarketState,
    params: MarketParams,
    config: MarketConfig,
    group_orders: tuple[Orders, ...],
    halted: jax.Array,
) -> tuple[tuple[Orders, ...], jax.Array]:
    """Refuse agent orders on halted assets (``halted`` bool [A]), outside the band, or
    beyond risk limits.

    Returns (groups with refused orders emptied, refusal counts int64 [3]: halted, band, risk).
    """
    lo, hi = band_limits(state.breaker, params.breaker)
    counts = jnp.zeros((3,), jnp.int64)
    out = []
    for g, group in zip(group_orders, groups(config), strict=True):
        start, n = group.start, group.count
        side, price, qty, asset = g.side, g.price, g.qty, g.asset
        active = side != 0
        lo_a, hi_a = by_asset(lo, asset), by_asset(hi, asset)
        halt = active & by_asset(halted, asset)
        band = active & ~halt & (price > 0) & ((price < lo_a) | (price > hi_a))
        # worst fill price of a market buy: the auction band top, or the breaker band (CDA)
        worst_market = by_asset(state.last_price, asset) + config.auction_band
        if config.clearing == "cda":
            worst_market = jnp.maximum(worst_market, jnp.minimum(hi_a, 2 * worst_market))
        worst = jnp.where(price > 0, price, worst_market)
        position = held(state.ledger.position[start : start + n], asset)
        risk_ok = within_limits(state.ledger.cash[start : start + n, None], position,
                                params.risk, side, qty, worst, params.tick_value, params.fee_bps)
        risk = active & ~halt & ~band & ~risk_ok
        ok = active & ~halt & ~band & ~risk
        counts = counts + jnp.stack([jnp.sum(halt), jnp.sum(band), jnp.sum(risk)])
        out.append(g.replace(side=jnp.where(ok, side, 0), price=jnp.where(ok, price, 0),
                             qty=jnp.where(ok, qty, 0)))
    return tuple(out), counts

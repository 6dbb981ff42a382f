"""Smart-tier actions: orders from outside the simulator (e.g. PPO policies).

One action per learner slot per step, as struct-of-arrays (``[n_smart]``):

=========  ==================================================================
kind       meaning
=========  ==================================================================
HOLD       no order
MARKET     market order: ``side``, ``qty``
LIMIT      limit order ``offset`` ticks from the reference price on the passive
           side (``ref - side * offset``; a negative offset crosses): ``side``,
           ``offset``, ``qty``
QUOTE      two-sided quote: bid ``offset`` ticks below, ask ``offset2`` above
           the reference, sizes ``qty`` and ``qty2``; replaces the agent's
           resting orders (CDA mode)
CANCEL_ALL remove the agent's resting orders (CDA mode), no new order
=========  ==================================================================

The reference price is the mid when both sides of the book are quoted and
the last price otherwise. Malformed actions (unknown kind, side not +1/-1
where needed, qty <= 0, asset out of range) send nothing and are counted as
invalid by the market.
"""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.agents.view import MarketView, Orders


class ActionKind(enum.IntEnum):
    HOLD = 0
    MARKET = 1
    LIMIT = 2
    QUOTE = 3
    CANCEL_ALL = 4


@struct.dataclass
class SmartActions:
    """Learner actions for one step (leading axes allowed under vmap)."""

    kind: jax.Array  # int32 [n_smart] ActionKind
    side: jax.Array  # int64 [n_smart] +1 buy / -1 sell (MARKET, LIMIT)
    offset: jax.Array  # int64 [n_smart] ticks (LIMIT offset; QUOTE bid offset)
    qty: jax.Array  # int64 [n_smart] lots (MARKET, LIMIT; QUOTE bid size)
    offset2: jax.Array  # int64 [n_smart] ticks (QUOTE ask offset)
    qty2: jax.Array  # int64 [n_smart] lots (QUOTE ask size)
    asset: jax.Array  # int32 [n_smart] asset index


def hold(n_smart: int) -> SmartActions:
    """Every learner holds."""
    z = jnp.zeros((n_smart,), jnp.int64)
    return SmartActions(kind=jnp.zeros((n_smart,), jnp.int32), side=z, offset=z, qty=z,
                        offset2=z, qty2=z, asset=jnp.zeros((n_smart,), jnp.int32))


def reference_price(view: MarketView) -> jax.Array:
    """int64 [A]: mid (rounded down) when both sides are quoted, else the last price."""
    both = (view.best_bid > 0) & (view.best_ask > 0)
    return jnp.where(both, (view.best_bid + view.best_ask) // 2, view.last_price)


def decode(actions: SmartActions, view: MarketView) -> tuple[Orders, jax.Array, jax.Array]:
    """Actions -> (Orders [n_smart, 2], valid bool [n_smart], replaces_resting bool [n_smart])."""
    a = actions
    n_assets = view.last_price.shape[0]
    asset_ok = (a.asset >= 0) & (a.asset < n_assets)
    ref = reference_price(view)[jnp.clip(a.asset, 0, n_assets - 1)]
    side_ok = (a.side == 1) | (a.side == -1)
    is_market, is_limit = a.kind == ActionKind.MARKET, a.kind == ActionKind.LIMIT
    is_quote = a.kind == ActionKind.QUOTE
    is_hold, is_cancel = a.kind == ActionKind.HOLD, a.kind == ActionKind.CANCEL_ALL
    valid = asset_ok & jnp.select(
        [is_hold, is_market | is_limit, is_quote, is_cancel],
        [True, side_ok & (a.qty > 0), (a.qty > 0) & (a.qty2 > 0), True],
        False,
    )
    limit_px = jnp.maximum(ref - a.side * a.offset, 1)
    bid = jnp.maximum(ref - a.offset, 1)
    ask = jnp.maximum(ref + a.offset2, bid + 1)
    trade = valid & (is_market | is_limit)
    quote = valid & is_quote
    side0 = jnp.where(trade, a.side, jnp.where(quote, 1, 0))
    price0 = jnp.where(trade, jnp.where(is_market, 0, limit_px), jnp.where(quote, bid, 0))
    qty0 = jnp.where(trade | quote, a.qty, 0)
    orders = Orders(
        side=jnp.stack([side0, jnp.where(quote, -1, 0)], axis=1).astype(jnp.int64),
        price=jnp.stack([price0, jnp.where(quote, ask, 0)], axis=1).astype(jnp.int64),
        qty=jnp.stack([qty0, jnp.where(quote, a.qty2, 0)], axis=1).astype(jnp.int64),
        asset=jnp.stack([a.asset, a.asset], axis=1).astype(jnp.int32),
    )
    replaces = valid & (is_quote | (a.kind == ActionKind.CANCEL_ALL))
    return orders, valid, replaces

"""This step's orders from every source: learners, reactive blocks, the background pool.

Agents' orders come in the groups of :mod:`quantmarl.market.layout` (smart
tier first, then one group per reactive block); the background pool's are
per asset.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.agents.background import (
    BackgroundOrders,
    activity,
    price_scale,
    reference_price,
    sample_orders,
)
from quantmarl.agents.registry import get as get_behaviour
from quantmarl.agents.view import MarketView, Orders
from quantmarl.events.effects import Effects
from quantmarl.market.barrier import fusion_barrier
from quantmarl.market.config import MarketConfig, MarketParams
from quantmarl.market.layout import groups
from quantmarl.market.smart import SmartActions, decode
from quantmarl.market.state import MarketState


def agent_orders(
    key: jax.Array,
    state: MarketState,
    view: MarketView,
    fx: Effects,
    actions: SmartActions,
    config: MarketConfig,
) -> tuple[tuple[Orders, ...], jax.Array, jax.Array]:
    """Orders per group, smart validity bool [n_smart], replace-resting bool [n_agents].

    Group g's orders are ``[n_g, k_g]`` with ``k_g`` the slots its behaviour uses.
    Every reactive block's orders pass a fusion barrier where they come out
    (computed once, not again in each consumer), and a behaviour that
    ``withdraws_in_stress`` sends nothing on assets where an event withdraws
    liquidity.
    """
    smart, valid, replaces = decode(actions, view)
    out_groups = [smart]
    seed = jax.random.bits(key, (), jnp.uint64).astype(jnp.int64)  # 64 bits of the step key
    keys = jax.random.split(jax.random.key(seed, impl=config.agent_prng),
                            max(len(state.agents), 1))
    for i, (block, group) in enumerate(zip(state.agents, groups(config)[1:], strict=True)):
        behaviour = get_behaviour(group.name)
        start, n, k = group.start, group.count, group.slots
        out = behaviour.act(keys[i], view, block.params, state.ledger.position[start : start + n],
                            state.ledger.cash[start : start + n])
        out = fusion_barrier(out, jax.random.key_data(keys[i]))
        if out.slots < k:
            raise ValueError(f"behaviour {group.name!r} returned {out.slots} order slot(s) but "
                             f"is registered with {k} (Behaviour.slots)")
        out = jax.tree.map(lambda x, k=k: x[:, :k], out)
        if behaviour.withdraws_in_stress:
            gone = fx.withdraw_liquidity[out.asset]
            out = out.replace(side=jnp.where(gone, 0, out.side),
                              price=jnp.where(gone, 0, out.price),
                              qty=jnp.where(gone, 0, out.qty))
        out_groups.append(out)
    replaces = jnp.concatenate([replaces, jnp.zeros((config.n_reactive,), bool)])
    return tuple(out_groups), valid, replaces


def background_orders(
    key: jax.Array,
    state: MarketState,
    fx: Effects,
    log_fundamental: jax.Array,
    halted: jax.Array,
    params: MarketParams,
    config: MarketConfig,
    herd_side: jax.Array,
) -> tuple[BackgroundOrders, jax.Array]:
    """The background pool's orders [A, background_orders] (none on halted assets) and the
    reference price they are drawn around (int64 [A] ticks: the last price moved by the
    population's sentiment; the auction breaks its ties toward it).

    Its reference price drifts (sentiment) and leans toward value; in busy periods a
    share of the orders herds on ``herd_side`` (int64 [A]); stress events
    push it (buy/sell pressure); a volatility spike widens its price dispersion,
    a liquidity shock thins it and widens it further.
    """
    key, k_drift = jax.random.split(key)
    ref = reference_price(k_drift, state.last_price, log_fundamental, fx.vol_mult,
                          params.background)
    bg_params = params.background.replace(
        offset_scale=params.background.offset_scale * jnp.max(fx.vol_mult * fx.liquidity_mult))
    bg = sample_orders(key, ref, state.bg_intensity / fx.liquidity_mult, bg_params,
                       config.background_orders,
                       buy_pressure=fx.buy_pressure, sell_pressure=fx.sell_pressure,
                       act=activity(state.bg_intensity, params.background),
                       herd_side=herd_side,
                       scale=price_scale(state.volatility, state.vol_long, params.background))
    return bg.replace(side=jnp.where(halted[:, None], 0, bg.side),
                      qty=jnp.where(halted[:, None], 0, bg.qty)), ref


def requoting(config: MarketConfig, replaces: jax.Array) -> jax.Array:
    """bool [n_accounts]: accounts whose resting orders are cancelled before this step's
    arrive: every account of a behaviour that ``requotes``, and learners that replace
    theirs (``replaces`` bool [n_agents])."""
    mask = np.concatenate([np.full(g.count, _requotes(g)) for g in groups(config)]
                          + [np.zeros(config.n_accounts - config.n_agents, bool)])
    return jnp.asarray(mask) | jnp.concatenate([replaces, jnp.zeros((1,), bool)])


def _requotes(group) -> bool:
    """A reactive group whose behaviour requotes (cancels its resting orders every step)."""
    return group.name != "smart" and get_behaviour(group.name).requotes


def reviewing(key: jax.Array, params: MarketParams, config: MarketConfig) -> jax.Array:
    """bool [n_accounts]: reactive traders who cancel their resting orders (CDA) before this
    step's arrive, each with probability ``params.replace_orders``: a trader who looks at
    the market again replaces its stale order by a fresh one instead of stacking orders."""
    u = jax.random.uniform(key, (config.n_reactive,), jnp.float32)
    mine = u < params.replace_orders.astype(jnp.float32)
    return jnp.concatenate([jnp.zeros((config.n_smart,), bool), mine, jnp.zeros((1,), bool)])


def quoting_rows(config: MarketConfig) -> np.ndarray:
    """bool [m]: the flat order rows (:func:`~quantmarl.market.layout.flat`) of behaviours
    that requote (market makers): the quotes that ``quote_priority`` moves to the front."""
    rows = [np.full(g.count * g.slots, _requotes(g)) for g in groups(config)]
    return np.concatenate(rows) if rows else np.zeros(0, bool)

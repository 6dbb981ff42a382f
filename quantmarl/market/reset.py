"""A fresh market: agents' parameters drawn, books empty, prices at ``initial_price``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from quantmarl.agents.params import Block, draw_params
from quantmarl.book.state import empty_book
from quantmarl.events.circuit_breaker import init_breaker
from quantmarl.events.schedule import empty_schedule
from quantmarl.market.accounting import new_ledger
from quantmarl.market.config import MarketConfig, MarketParams, validate_params
from quantmarl.market.halt_queue import empty_queue
from quantmarl.market.state import N_REJECTIONS, MarketState


def _is_concrete(tree) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(tree))


def reset(key: jax.Array, config: MarketConfig, params: MarketParams) -> MarketState:
    """A fresh market (``params`` validated when concrete): reactive blocks' parameters
    drawn from ``params.behaviours``, books empty, prices at ``initial_price``."""
    if _is_concrete(params):
        validate_params(config, params)
    a, n = config.n_assets, config.n_agents
    keys = jax.random.split(key, max(len(config.reactive), 1))
    blocks = tuple(
        Block(name=name, params=draw_params(keys[i], count, params.behaviours[i], a,
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
        vol_long=jnp.full((a,), params.fundamental.sigma, jnp.float32),
        bg_intensity=jnp.full((a,), params.background.base_intensity, jnp.float32),
        breaker=init_breaker(price, config.history),
        injected=empty_schedule(config.max_events),
        rejections=jnp.zeros((N_REJECTIONS,), jnp.int64),
        halt_queue=empty_queue(a, config.halt_queue),
    )

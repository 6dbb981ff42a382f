"""The market step: effects -> fundamental -> orders -> pre-trade checks -> clearing ->
settlement -> record.

``reset(key, config, params) -> MarketState`` and
``step(key, state, smart_actions, config, params) -> (MarketState, StepRecord)``
are pure; ``config`` is static (pass it with ``functools.partial`` or as a jit
static argument) and ``params`` is a pytree that can be vmapped.

Per step: the active events give per-asset effects; the fundamental value
moves; smart actions are decoded, reactive agents act (one call per behaviour
block) and the background pool draws its orders (plus a stress burst during
a flash crash or rally); agent orders outside the price band or that could
breach risk limits are refused (counted by reason); every order for a
halted asset joins its halt queue, and an asset whose halt ended reopens
with a call auction of what queued (:mod:`quantmarl.market.halt_queue`);
orders clear either in one uniform-price auction per asset or through the
CDA book in a random arrival order; every execution is booked in int64 with
fees; then prices, volatility, the background intensity and the circuit
breaker are updated.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from quantmarl.agents.background import (
    BackgroundOrders,
    activity,
    price_scale,
    sentiment_side,
    update_intensity,
)
from quantmarl.agents.view import MarketView
from quantmarl.events.circuit_breaker import is_halted, update_breaker
from quantmarl.events.effects import effects_at
from quantmarl.events.schedule import EventSchedule, expire
from quantmarl.events.stress import burst_reference, stress_burst
from quantmarl.market.accounting import apply_deltas
from quantmarl.market.clearing import Cleared, clear_auction, clear_cda
from quantmarl.market.config import MarketConfig, MarketParams
from quantmarl.market.fundamental import fundamental_ticks, step_fundamental
from quantmarl.market.halt_queue import drain, enqueue, reopening, withdraw
from quantmarl.market.layout import by_asset, concat, flat, owners, per_asset
from quantmarl.market.orders import agent_orders, background_orders, requoting, reviewing
from quantmarl.market.pretrade import market_buy_bound, pretrade
from quantmarl.market.reset import reset
from quantmarl.market.smart import SmartActions, hold
from quantmarl.market.state import MarketState, StepRecord

__all__ = ["reset", "run", "step"]


def step(
    key: jax.Array,
    state: MarketState,
    smart_actions: SmartActions,
    config: MarketConfig,
    params: MarketParams,
) -> tuple[MarketState, StepRecord]:
    """Advance the market one step. ``config`` is static; everything else is traced."""
    k_fund, k_agents, k_bg, k_arrival = jax.random.split(key, 4)
    k_bg, k_herd = jax.random.split(k_bg)
    t = state.step
    n_assets = config.n_assets
    fx = effects_at(_combined_schedule(params, state), t, n_assets)
    halted = is_halted(state.breaker, t)

    log_f = step_fundamental(k_fund, state.log_fundamental, state.log_anchor, params.fundamental,
                             fx.vol_mult.astype(jnp.float64),
                             fx.fundamental_jump.astype(jnp.float64))
    fund = fundamental_ticks(log_f)
    act = activity(state.bg_intensity, params.background)
    herd_side = sentiment_side(k_herd, n_assets)
    view = MarketView(
        last_price=state.last_price, fundamental=fund, best_bid=state.best_bid,
        best_ask=state.best_ask, history=state.history, volatility=state.volatility,
        liquidity_mult=fx.liquidity_mult * act ** params.background.withdrawal_elasticity,
        price_scale=price_scale(state.volatility, state.vol_long, params.background),
        index_weights=params.index_weights,
    )
    groups, smart_valid, replaces = agent_orders(k_agents, state, view, fx, smart_actions, config)
    trading = jnp.zeros_like(halted)  # checks and flow as if open: halted assets' orders queue
    bg, bg_ref = background_orders(k_bg, state, fx, log_f, trading, params, config, herd_side)
    requote = requoting(config, replaces)
    if config.clearing == "cda":  # traders who look again replace their resting orders
        k_arrival, k_review = jax.random.split(k_arrival)
        requote = requote | reviewing(k_review, params, config)
    # a requote replaces the account's queued orders on the halted assets it sends orders to
    state = state.replace(halt_queue=withdraw(state.halt_queue, groups, owners(config), requote,
                                              halted))
    reopen = reopening(state.halt_queue, halted)
    # the auction's band is centred on the burst's target or on bg_ref (see tie_ref below)
    worst_buy = market_buy_bound(
        state, config, groups, bg,
        jnp.maximum(burst_reference(state.last_price, fx, trading), bg_ref),
        state.halt_queue, reopen)
    groups, refusals, queued = pretrade(state, params, config, groups, requote, worst_buy, reopen)
    orders = flat(groups)

    side, price, qty, asset = orders
    burst = stress_burst(state.last_price, fx, trading,
                         concat([per_asset(side, asset, n_assets, 0), bg.side]),
                         concat([per_asset(price, asset, n_assets, 0), bg.price]),
                         concat([per_asset(qty, asset, n_assets, 0), bg.qty]),
                         state.books)
    bg = jax.tree.map(lambda x, y: concat([y, x]), bg,
                      BackgroundOrders(side=burst.side, price=burst.price, qty=burst.qty))

    queue, queue_full, pool_full = enqueue(state.halt_queue, orders, jnp.asarray(owners(config)),
                                           bg, halted, config.background_account)
    if config.clearing == "auction":
        # ties between equally good prices go to the burst's target, else to the price the
        # population's sentiment points at (not to the last price: no artificial stickiness)
        tie_ref = jnp.where(burst.side[:, 0] != 0, burst.reference, bg_ref)
        open_side = jnp.where(by_asset(halted, asset), 0, side)
        bg = bg.replace(side=jnp.where(halted[:, None], 0, bg.side))
        cleared = clear_auction(state, params, config, groups, (open_side, price, qty, asset), bg,
                                tie_ref, queued)
    else:
        cleared = clear_cda(k_arrival, state, params, config, orders, requote, halted, bg, queued)
    ledger = apply_deltas(state.ledger, cleared.cash, cleared.position, cleared.fees)

    new_last = cleared.close
    ret = jnp.log(new_last / state.last_price)
    vol = jnp.sqrt(params.vol_decay * state.volatility.astype(jnp.float64) ** 2
                   + (1 - params.vol_decay) * ret**2).astype(jnp.float32)
    m = params.background.vol_memory
    vol_long = jnp.sqrt(m * state.vol_long.astype(jnp.float64) ** 2
                        + (1 - m) * ret**2).astype(jnp.float32)
    intensity = update_intensity(state.bg_intensity, params.background,
                                 jnp.abs(ret).astype(jnp.float32), state.vol_long)
    breaker, _ = update_breaker(state.breaker, new_last, t, params.breaker)
    rejected = jnp.concatenate([
        jnp.sum(~smart_valid, keepdims=True).astype(jnp.int64),
        refusals,
        jnp.reshape(cleared.book_refusals, (1,)).astype(jnp.int64), queue_full[None]])
    queue = drain(queue, reopen, halted)
    record = _record(state, ledger, cleared, halted, fund, rejected, config,
                     (reopen, queue.count, pool_full))
    new_state = state.replace(
        step=t + 1, ledger=ledger, books=cleared.books, log_fundamental=log_f,
        last_price=new_last, best_bid=cleared.best_bid, best_ask=cleared.best_ask,
        history=jnp.concatenate([state.history[1:], new_last[None, :]]),
        volatility=vol, vol_long=vol_long, bg_intensity=intensity, breaker=breaker,
        injected=expire(state.injected, t + 1),  # finished injected events free their rows
        rejections=state.rejections + rejected, halt_queue=queue,
    )
    return new_state, record


def _combined_schedule(params: MarketParams, state: MarketState) -> EventSchedule:
    """The configured events followed by those injected at run time."""
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y]), params.schedule, state.injected)


def _record(state, ledger, cleared: Cleared, halted, fund, rejected, config,
            halts) -> StepRecord:
    """The step's public record from the clearing result and the settled ledger
    (``halts``: reopened, queued, queue_refused)."""
    bid, ask, depth = cleared.best_bid, cleared.best_ask, cleared.depth
    total = depth.sum(axis=1)
    return StepRecord(
        open=cleared.open, high=cleared.high, low=cleared.low, close=cleared.close,
        volume=cleared.volume, signed_volume=cleared.signed_volume, n_trades=cleared.n_trades,
        best_bid=bid, best_ask=ask,
        spread=jnp.where((bid > 0) & (ask > 0), ask - bid, -1), depth=depth,
        imbalance=jnp.where(total > 0, (depth[:, 0] - depth[:, 1]) / jnp.maximum(total, 1),
                            0.0).astype(jnp.float32),
        halted=halted, fundamental=fund,
        agent_qty=(ledger.position - state.ledger.position) if config.record_agent_trades
        else None,
        rejected=rejected, fees=ledger.fees_collected - state.ledger.fees_collected,
        reopened=halts[0], queued=halts[1], queue_refused=halts[2], fills=cleared.fills,
    )


def run(
    key: jax.Array, config: MarketConfig, params: MarketParams, n_steps: int | None = None
) -> tuple[MarketState, StepRecord]:
    """Reset and run ``n_steps`` (default: the episode length) with every learner holding.

    Returns the final state and the records stacked over time (leading axis ``n_steps``).
    """
    n = config.episode_length if n_steps is None else n_steps
    k_reset, k_run = jax.random.split(key)
    state = reset(k_reset, config, params)
    return run_from(k_run, state, params, config, n)


@partial(jax.jit, static_argnames=("config", "n_steps"))
def run_from(
    key: jax.Array, state: MarketState, params: MarketParams, config: MarketConfig, n_steps: int
) -> tuple[MarketState, StepRecord]:
    """Run ``n_steps`` from ``state`` with every learner holding (jitted; config static).

    Step ``t`` uses ``jax.random.split(key, n_steps)[t]``. Returns the final
    state and the records stacked over time (leading axis ``n_steps``).
    """
    actions = hold(config.n_smart)

    def body(st, k):
        return step(k, st, actions, config, params)

    return jax.lax.scan(body, state, jax.random.split(key, n_steps))

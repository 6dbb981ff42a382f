"""Random small markets for property tests and invariant sweeps.

A few fixed static shapes (:func:`small_config`) and random
:class:`~quantmarl.market.MarketParams` for them (:func:`random_params`, from a
NumPy generator): starting values within random risk limits, fees, random
stress events, the circuit breaker on or off (or, with ``halts=True``, on and
tight, with a crash or rally that trips it, so assets halt, queue orders and
reopen). :func:`run_checked` runs one market with random (partly malformed)
smart actions and returns, per step, what the invariants need: ledger totals,
quotes, limit breaches of agents, rejection and halt-queue counters. One
compile per config; params and keys are traced.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.events import (
    breaker_rules,
    flash_crash,
    flash_rally,
    liquidity_shock,
    make_schedule,
    news_event,
    volatility_spike,
)
from quantmarl.market import MarketConfig, SmartActions, default_params, reset, step
from quantmarl.market.accounting import RiskLimits

MIXES = (
    (("market_maker", 2), ("fundamental", 3), ("momentum", 2), ("mean_reversion", 2),
     ("noise", 3), ("arbitrage", 1)),
    (("noise", 4), ("market_maker", 1), ("fundamental", 2)),
)


def small_config(clearing: str, n_assets: int = 2, capacity: int = 8, mix: int = 0,
                 n_smart: int = 2, background_orders: int = 8,
                 halt_queue: int = 24) -> MarketConfig:
    """A small market: few agents of several behaviours, a small book, a narrow auction band,
    a short halt queue (so that it fills up)."""
    return MarketConfig(n_assets=n_assets, n_smart=n_smart, reactive=MIXES[mix],
                        background_orders=background_orders, book_capacity=capacity,
                        clearing=clearing, auction_band=64, history=8, max_events=4,
                        depth_levels=2, episode_length=64, halt_queue=halt_queue)


def _events(rng: np.random.Generator, n_assets: int, n_steps: int, capacity: int) -> list:
    out = []
    for _ in range(int(rng.integers(0, capacity + 1))):
        kind = int(rng.integers(0, 5))
        start, dur = int(rng.integers(0, n_steps)), int(rng.integers(1, 8))
        asset = int(rng.integers(-1, n_assets))
        if kind == 0:
            out.append(flash_crash(float(rng.uniform(0.01, 0.3)), dur, start, asset))
        elif kind == 1:
            out.append(flash_rally(float(rng.uniform(0.01, 0.3)), dur, start, asset))
        elif kind == 2:
            out.append(volatility_spike(float(rng.uniform(1, 5)), dur, start, asset))
        elif kind == 3:
            out.append(liquidity_shock(float(rng.uniform(1, 5)), dur, start, asset))
        else:
            out.append(news_event(float(rng.uniform(-0.2, 0.2)), start, asset))
    return out


def random_params(rng: np.random.Generator, config: MarketConfig, n_steps: int = 64,
                  halts: bool = False):
    """Random params for ``config`` whose starting cash and positions lie within their limits
    (``halts``: a tight breaker and, early on, a crash or rally of every asset that trips it)."""
    p = default_params(config)
    allow_short = bool(rng.random() < 0.5)
    max_pos = int(rng.integers(0, 300))
    lo_pos = -max_pos if allow_short else 0
    price = rng.integers(config.auction_band + 1, 20_000, config.n_assets)
    cash = int(rng.integers(0, 3_000_000))
    min_cash = int(rng.integers(-200_000, cash + 1))
    use_breaker = halts or bool(rng.random() < 0.5)
    threshold = float(rng.uniform(0.005, 0.02) if halts else rng.uniform(0.01, 0.2))
    events = _events(rng, config.n_assets, n_steps, config.max_events - int(halts))
    if halts:
        kind = flash_crash if rng.random() < 0.5 else flash_rally
        events.append(kind(float(rng.uniform(0.1, 0.3)), int(rng.integers(1, 4)),
                           int(rng.integers(1, max(2, n_steps // 4))), -1))
    breaker = breaker_rules(threshold, window=int(rng.integers(1, 5)),
                            # a trigger's own step counts: 2+ halts the next step
                            halt_steps=int(rng.integers(2, 6) if halts else rng.integers(1, 5)),
                            band=float(rng.choice([0.0, rng.uniform(0.005, 0.1)])),
                            enabled=use_breaker, history_len=config.history)
    return p.replace(
        tick_value=jnp.asarray(rng.integers(1, 4), jnp.int64),
        initial_price=jnp.asarray(price, jnp.int64),
        initial_cash=jnp.asarray(cash, jnp.int64),
        initial_position=jnp.asarray(rng.integers(lo_pos, max_pos + 1), jnp.int64),
        fee_bps=jnp.asarray(rng.integers(0, 60), jnp.int64),
        maker_fee_bps=jnp.asarray(rng.integers(0, 60), jnp.int64),
        risk=RiskLimits(min_cash=jnp.asarray(min_cash, jnp.int64),
                        max_position=jnp.asarray(max_pos, jnp.int64),
                        allow_short=jnp.asarray(allow_short)),
        background=p.background.replace(market_frac=jnp.asarray(rng.uniform(0.0, 0.5))),
        schedule=make_schedule(events, capacity=config.max_events),
        breaker=breaker,
        order_lifetime=jnp.asarray(rng.integers(1, 12), jnp.int32),
        quote_priority=jnp.asarray(rng.uniform(0.0, 1.0)),
        replace_orders=jnp.asarray(rng.uniform(0.0, 1.0)),
    )


def random_actions(key: jax.Array, n_smart: int, n_assets: int) -> SmartActions:
    """Random smart actions: every kind, malformed ones (bad kind, side, qty, asset) and
    sometimes huge sizes and offsets."""
    ks = jax.random.split(key, 9)

    def ints(k, lo, hi, dtype=jnp.int64):
        return jax.random.randint(k, (n_smart,), lo, hi).astype(dtype)

    huge = jax.random.uniform(ks[7], (n_smart,)) < 0.1
    qty = jnp.where(huge, 10**12, ints(ks[3], -2, 60))
    return SmartActions(
        kind=ints(ks[0], -1, 6, jnp.int32), side=ints(ks[1], -2, 3),
        offset=jnp.where(huge, -(10**9), ints(ks[2], -5, 10)), qty=qty,
        offset2=ints(ks[4], -3, 10), qty2=ints(ks[5], -2, 60),
        asset=ints(ks[6], -1, n_assets + 1, jnp.int32))


@partial(jax.jit, static_argnames=("config", "n_steps"))
def run_checked(key: jax.Array, config: MarketConfig, params, n_steps: int) -> dict:
    """Run ``n_steps`` with random smart actions; per step [T, ...]: ledger totals, quotes,
    agents beyond each limit (counts), cumulative rejection counters and the step's own,
    halts, reopenings and halt-queue counters."""
    k_reset, k_run = jax.random.split(key)
    state = reset(k_reset, config, params)
    n, r = config.n_agents, params.risk

    def body(st, k):
        k_act, k_step = jax.random.split(k)
        st, rec = step(k_step, st, random_actions(k_act, config.n_smart, config.n_assets),
                       config, params)
        cash, pos = st.ledger.cash[:n], st.ledger.position[:n]
        total_cash, total_pos = st.ledger.totals()
        return st, dict(
            total_cash=total_cash, total_pos=total_pos, best_bid=rec.best_bid,
            best_ask=rec.best_ask, rejections=st.rejections, rejected=rec.rejected,
            halted=rec.halted, reopened=rec.reopened, queued=rec.queued,
            queue_count=st.halt_queue.count, queue_refused=rec.queue_refused,
            queue_refused_total=st.halt_queue.refused,
            below_min_cash=jnp.sum(cash < r.min_cash),
            beyond_max_position=jnp.sum(jnp.abs(pos) > r.max_position),
            short=jnp.sum((pos < 0) & ~r.allow_short))

    _, out = jax.lax.scan(body, state, jax.random.split(k_run, n_steps))
    cash0, pos0 = state.ledger.totals()
    return {**out, "cash0": cash0, "pos0": pos0, "capacity": config.halt_queue}


def violations(out: dict) -> dict[str, int]:
    """Counts of invariant violations in one :func:`run_checked` result (host side)."""
    o = {k: np.asarray(v) for k, v in out.items()}
    bid, ask = o["best_bid"], o["best_ask"]
    both = (bid > 0) & (ask > 0)
    return {
        "cash_changed": int(np.sum(o["total_cash"] != o["cash0"])),
        "position_changed": int(np.sum(o["total_pos"] != o["pos0"][None, :])),
        "crossed": int(np.sum(both & (bid >= ask))),
        "below_min_cash": int(o["below_min_cash"].sum()),
        "beyond_max_position": int(o["beyond_max_position"].sum()),
        "short": int(o["short"].sum()),
        "rejections_decreased": int(np.sum(np.diff(o["rejections"], axis=0) < 0)),
        # every refusal of a step is in the running counters, by reason, and only there
        "rejections_unrecorded": int(np.sum(np.cumsum(o["rejected"], axis=0)
                                            != o["rejections"])),
        "queue_refusals_unrecorded": int(np.sum(np.cumsum(o["queue_refused"], axis=0)
                                                != o["queue_refused_total"])),
        # orders wait only for halted assets, within the queue's capacity, and a reopening
        # follows a halt and releases the whole queue
        "queued_while_trading": int(np.sum((o["queued"] > 0) & ~o["halted"])),
        "queue_overfull": int(np.sum(o["queued"] > o["capacity"])),
        "queue_count_mismatch": int(np.sum(o["queued"] != o["queue_count"])),
        "reopened_without_halt": int(np.sum(o["reopened"][1:] & ~o["halted"][:-1])
                                     + np.sum(o["reopened"][0])),
    }


def halt_activity(out: dict) -> dict[str, int]:
    """Halted asset-steps, reopenings and queued orders in one :func:`run_checked` result."""
    return {"halted": int(np.sum(np.asarray(out["halted"]))),
            "reopened": int(np.sum(np.asarray(out["reopened"]))),
            "queued": int(np.sum(np.asarray(out["queued"])))}

"""The market step: exact conservation, determinism, jit/vmap equality, events and rules."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.events import (
    breaker_rules,
    flash_crash,
    flash_rally,
    inject,
    liquidity_shock,
    make_schedule,
    news_event,
    sell_program,
    volatility_spike,
)
from quantmarl.market import (
    ActionKind,
    MarketConfig,
    Rejection,
    SmartActions,
    default_params,
    hold,
    reset,
    step,
)
from quantmarl.market.accounting import RiskLimits
from tests.market.conftest import make_config, rollout

MODES = ("auction", "cda")


def _stressed_params(config):
    p = default_params(config)
    events = [flash_crash(0.1, 5, 20), volatility_spike(2.0, 10, 35), liquidity_shock(3.0, 10, 50),
              news_event(0.03, 65), flash_rally(0.05, 4, 75)]
    return p.replace(
        fee_bps=jnp.asarray(5, jnp.int64), maker_fee_bps=jnp.asarray(2, jnp.int64),
        schedule=make_schedule(events, capacity=config.max_events),
        breaker=breaker_rules(0.05, window=5, halt_steps=3, band=0.2, history_len=config.history),
    )


@pytest.mark.parametrize("mode", MODES)
def test_cash_and_positions_are_conserved_exactly_at_every_step(mode):
    config = make_config(mode, n_assets=2)
    params = _stressed_params(config)
    state0 = reset(jax.random.key(0), config, params)
    cash0, pos0 = (np.asarray(x) for x in state0.ledger.totals())
    state, rec, (cash, pos) = rollout(jax.random.key(0), config, params, 0.7)
    assert np.all(np.asarray(cash) == cash0), "sum(cash) + fees changed"
    assert np.all(np.asarray(pos) == pos0[None, :]), "total position changed"
    assert int(state.ledger.fees_collected) > 0 and int(np.asarray(rec.volume).sum()) > 0
    agent_qty = np.asarray(rec.agent_qty)
    assert np.all(agent_qty.sum(axis=1) == 0)  # every lot bought was sold, each step
    for arr in (state.ledger.cash, state.ledger.position, rec.close, rec.volume):
        assert arr.dtype == jnp.int64
    bid, ask = np.asarray(rec.best_bid), np.asarray(rec.best_ask)
    both = (bid > 0) & (ask > 0)
    assert np.all(bid[both] < ask[both]), "book crossed"
    assert int(np.asarray(rec.rejected)[:, Rejection.INVALID_ACTION].sum()) > 0


@pytest.mark.parametrize("mode", MODES)
def test_same_key_same_market(mode, auction_config, cda_config):
    config = auction_config if mode == "auction" else cda_config
    params = default_params(config)
    a = rollout(jax.random.key(3), config, params, 0.5)
    b = rollout(jax.random.key(3), config, params, 0.5)
    c = rollout(jax.random.key(4), config, params, 0.5)
    chex.assert_trees_all_equal(a, b)
    assert not np.array_equal(np.asarray(a[1].close), np.asarray(c[1].close))


def test_jit_matches_no_jit():
    config = MarketConfig(n_smart=1, reactive=(("market_maker", 1), ("noise", 3)),
                          background_orders=8, clearing="cda", book_capacity=16, history=4)
    params = default_params(config)
    actions = SmartActions(**{**hold(1).__dict__, "kind": jnp.array([ActionKind.MARKET], jnp.int32),
                              "side": jnp.array([1]), "qty": jnp.array([3])})
    jitted = jax.jit(step, static_argnames="config")
    state = reset(jax.random.key(0), config, params)
    state = jitted(jax.random.key(2), state, actions, config, params)[0]  # books hold orders
    k = jax.random.key(1)
    s1, r1 = jitted(k, state, actions, config, params)
    with jax.disable_jit():  # one step: op by op, a CDA step takes tens of seconds
        s2, r2 = step(k, state, actions, config, params)
    assert int(state.books.count.sum()) > 0
    chex.assert_trees_all_equal(s1, s2)
    chex.assert_trees_all_equal(r1, r2)


def test_vmap_over_markets_matches_loop(auction_config):
    params = default_params(auction_config)
    keys = jax.random.split(jax.random.key(7), 3)
    batched = jax.vmap(lambda k: rollout(k, auction_config, params, 0.5, n_steps=20))(keys)
    for i in range(3):
        single = rollout(keys[i], auction_config, params, 0.5, n_steps=20)
        chex.assert_trees_all_equal(single, jax.tree.map(lambda x, i=i: x[i], batched))


def _close(config, params, seed=0, trade_prob=0.0):
    _, rec, _ = rollout(jax.random.key(seed), config, params, trade_prob)
    return np.asarray(rec.close[:, 0], np.float64), rec


@pytest.mark.parametrize("mode", MODES)
def test_flash_crash_of_10pct_moves_price_down_about_10pct(mode, auction_config, cda_config):
    config = auction_config if mode == "auction" else cda_config
    p = default_params(config)
    close, _ = _close(config, p.replace(
        schedule=make_schedule([flash_crash(0.1, 5, 40)], capacity=config.max_events)))
    pre = close[30:40].mean()
    drop = close[40:50].min() / pre - 1
    assert -0.13 < drop < -0.07, drop


def test_a_crash_without_news_is_bought_back(auction_config):
    """The background flow leans toward value: the price recovers toward the unchanged
    fundamental after the crash, and does not without the pull."""
    still = default_params(auction_config).replace(
        schedule=make_schedule([flash_crash(0.1, 5, 20)], capacity=auction_config.max_events))
    assert float(still.background.value_pull) == 0.0  # the default: value via its traders
    p = still.replace(background=still.background.replace(value_pull=jnp.asarray(0.1)))
    gaps = {}
    for name, params in (("pull", p), ("still", still)):
        close, rec = _close(auction_config, params)
        fund = np.asarray(rec.fundamental[:, 0], np.float64)
        assert close[25] / close[10:20].mean() < 0.93  # the crash happened
        gaps[name] = abs(close[-5:].mean() / fund[-5:].mean() - 1)
    assert gaps["pull"] < 0.01 < gaps["still"] and gaps["pull"] < gaps["still"] / 3, gaps


@pytest.mark.parametrize("mode", MODES)
def test_circuit_breaker_halts_a_crash_and_queues_orders(mode, auction_config, cda_config):
    config = auction_config if mode == "auction" else cda_config
    p = default_params(config).replace(
        schedule=make_schedule([flash_crash(0.1, 5, 40)], capacity=config.max_events),
        breaker=breaker_rules(0.03, window=5, halt_steps=5, history_len=config.history))
    close, rec = _close(config, p, trade_prob=1.0)
    halted = np.asarray(rec.halted[:, 0])
    assert halted[40:50].any() and not halted[:40].any()
    pre = close[30:40].mean()
    assert close[40:50].min() / pre - 1 > -0.07  # stopped well short of 10%
    # nothing trades while halted; orders queue, and the asset reopens with a call auction
    assert np.all(np.asarray(rec.volume[:, 0])[halted] == 0)
    assert int(np.asarray(rec.queued[:, 0])[halted].max()) > 0
    reopened = np.flatnonzero(np.asarray(rec.reopened[:, 0]))
    assert len(reopened) >= 1 and halted[reopened - 1].all() and not halted[reopened].any()
    assert int(np.asarray(rec.volume[:, 0])[reopened[0]]) > 0
    assert int(np.asarray(rec.rejected)[:, Rejection.HALTED].sum()) == 0


def test_price_band_refuses_orders_outside_it(auction_config):
    p = default_params(auction_config).replace(
        breaker=breaker_rules(0.5, window=1, halt_steps=1, band=0.0001,
                              history_len=auction_config.history))
    _, rec = _close(auction_config, p, trade_prob=1.0)
    assert int(np.asarray(rec.rejected)[:, Rejection.OUT_OF_BAND].sum()) > 0


def test_flash_rally_moves_price_up(cda_config):
    p = default_params(cda_config)
    close, _ = _close(cda_config, p.replace(
        schedule=make_schedule([flash_rally(0.1, 5, 40)], capacity=cda_config.max_events)))
    assert close[40:50].max() / close[30:40].mean() - 1 > 0.07


def test_volatility_spike_raises_volatility(cda_config):
    p = default_params(cda_config)
    # the fundamental's diffusion is small against the price's own noise (2.5e-4 per
    # step): a spike must multiply it well beyond 3 to dominate the price's moves
    spiked = p.replace(schedule=make_schedule([volatility_spike(10.0, 40, 50)],
                                              capacity=cda_config.max_events))
    ratios = []
    for seed in range(3):
        r = np.diff(np.log(_close(cda_config, spiked, seed)[0]))
        ratios.append(r[52:90].std() / r[10:48].std())
    assert np.mean(ratios) > 1.5, ratios


def test_liquidity_shock_thins_the_book(cda_config):
    p = default_params(cda_config)
    shocked = p.replace(schedule=make_schedule([liquidity_shock(3.0, 40, 50)],
                                               capacity=cda_config.max_events))
    before, during = [], []
    for seed in range(3):
        depth = np.asarray(_close(cda_config, shocked, seed)[1].depth[:, 0]).sum(axis=1)
        before.append(depth[30:50].mean())
        during.append(depth[60:90].mean())
    assert np.mean(during) < 0.85 * np.mean(before)


def test_news_jumps_the_fundamental(auction_config):
    p = default_params(auction_config).replace(
        schedule=make_schedule([news_event(0.05, 30)], capacity=auction_config.max_events))
    _, rec = _close(auction_config, p)
    fund = np.asarray(rec.fundamental[:, 0], np.float64)
    jump = fund[30] / fund[29] - 1
    assert 0.04 < jump < 0.06


def test_event_injected_at_run_time(auction_config):
    p = default_params(auction_config)
    state = reset(jax.random.key(0), auction_config, p)
    state = state.replace(injected=inject(state.injected, flash_crash(0.1, 5, 2))[0])
    run_step = jax.jit(step, static_argnames="config")
    prices = []
    for k in jax.random.split(jax.random.key(1), 10):
        state, rec = run_step(k, state, hold(auction_config.n_smart), auction_config, p)
        prices.append(int(rec.close[0]))
    assert prices[-1] / prices[0] - 1 < -0.07
    assert int((state.injected.kind != 0).sum()) == 0  # the finished event freed its row


def test_smart_orders_execute_and_risk_limits_refuse_whole_orders(auction_config):
    p = default_params(auction_config).replace(
        risk=RiskLimits(min_cash=jnp.asarray(0, jnp.int64),
                        max_position=jnp.asarray(110, jnp.int64),
                        allow_short=jnp.asarray(False)))
    state = reset(jax.random.key(0), auction_config, p)
    buy = SmartActions(**{**hold(2).__dict__,
                          "kind": jnp.array([ActionKind.MARKET, ActionKind.MARKET], jnp.int32),
                          "side": jnp.array([1, 1]), "qty": jnp.array([5, 50])})
    state2, rec = jax.jit(step, static_argnames="config")(jax.random.key(1), state, buy,
                                                         auction_config, p)
    # agent 0 buys 5 lots (position 100 -> 105); agent 1's 50 would breach max_position 110
    assert np.asarray(rec.agent_qty[:2, 0]).tolist() == [5, 0]
    assert int(rec.rejected[Rejection.RISK_LIMIT]) >= 1
    assert int(state2.ledger.position[1, 0]) == 100
    paid = int(state.ledger.cash[0] - state2.ledger.cash[0])
    px = int(rec.close[0])
    assert paid == 5 * px + (5 * px) * 1 // 10_000  # notional + 1 bp fee, tick value 1


def test_reset_validates_params(auction_config):
    p = default_params(auction_config)
    with pytest.raises(ValueError, match="fee_bps"):
        reset(jax.random.key(0), auction_config, p.replace(fee_bps=jnp.asarray(-1, jnp.int64)))
    with pytest.raises(ValueError, match="unknown behaviour"):
        MarketConfig(reactive=(("martian", 3),))


def test_agent_prng_choice_is_deterministic_and_matters(auction_config):
    params = default_params(auction_config)
    threefry = auction_config.__class__(**{**auction_config.__dict__, "agent_prng": "threefry2x32"})
    runs = {}
    for name, cfg in (("philox", auction_config), ("threefry", threefry)):
        _, rec = _run(cfg, params)
        _, again = _run(cfg, params)
        np.testing.assert_array_equal(np.asarray(rec.close), np.asarray(again.close))
        runs[name] = np.asarray(rec.volume)
    assert auction_config.agent_prng == "philox4x32"
    assert not np.array_equal(runs["philox"], runs["threefry"])  # other draws, other market


def _run(config, params, n=20):
    from quantmarl.market import run

    return run(jax.random.key(3), config, params, n)


def test_behaviour_with_fewer_slots_than_registered_is_an_error(monkeypatch):
    from quantmarl.agents import registry
    from quantmarl.agents.behaviour import Behaviour

    # noise returns one slot; registered (for this test only) as a two-slot behaviour
    monkeypatch.setitem(registry.BEHAVIOURS, "one_slot_noise",
                        Behaviour(name="one_slot_noise", act=registry.get("noise").act, slots=2))
    config = MarketConfig(reactive=(("one_slot_noise", 4),))
    with pytest.raises(ValueError, match="returned 1 order slot.*registered with 2"):
        reset_and_step(config)


def reset_and_step(config):
    params = default_params(config)
    state = reset(jax.random.key(0), config, params)
    return step(jax.random.key(1), state, hold(config.n_smart), config, params)


@pytest.mark.parametrize("mode", MODES)
def test_signed_volume_is_bounded_by_volume_and_moves_the_mid(mode, auction_config,
                                                                    cda_config):
    """Aggressor-signed lots: |signed| <= volume at every step, and in CDA the signed flow
    moves the mid the same way (a positive price impact)."""
    config = auction_config if mode == "auction" else cda_config
    p = default_params(config)
    _, rec = _close(config, p, trade_prob=0.5)
    signed, volume = np.asarray(rec.signed_volume[:, 0]), np.asarray(rec.volume[:, 0])
    assert rec.signed_volume.dtype == jnp.int64
    assert np.all(np.abs(signed) <= volume) and np.any(signed != 0)
    if mode == "auction":
        return
    mid = (np.asarray(rec.best_bid[:, 0], np.float64) + np.asarray(rec.best_ask[:, 0])) / 2
    two_sided = (np.asarray(rec.best_bid[1:, 0]) > 0) & (np.asarray(rec.best_ask[1:, 0]) > 0)
    two_sided &= (np.asarray(rec.best_bid[:-1, 0]) > 0) & (np.asarray(rec.best_ask[:-1, 0]) > 0)
    ret = np.diff(np.log(np.where(mid > 0, mid, 1.0)))[two_sided]
    assert np.corrcoef(signed[1:][two_sided], ret)[0, 1] > 0.2


@pytest.mark.parametrize("mode", MODES)
def test_a_sell_program_sells_at_market_and_the_market_sets_the_price(mode, auction_config,
                                                                      cda_config):
    """A sell program scripts lots, not a path: its market sells take liquidity (negative
    aggressor-signed flow), and how far the price falls depends on the lots and on the
    book (a liquidity shock on top deepens the fall)."""
    config = auction_config if mode == "auction" else cda_config
    p = default_params(config)

    def fall(lots, shock):
        events = [sell_program(lots, 10, 40)] + ([liquidity_shock(4.0, 30, 35)] if shock else [])
        close, rec = _close(config, p.replace(schedule=make_schedule(
            events, capacity=config.max_events)))
        assert int(np.asarray(rec.signed_volume[40:50, 0]).sum()) < 0
        return close[40:55].min() / close[30:40].mean() - 1

    calm, _ = _close(config, p)
    calm_fall = calm[40:55].min() / calm[30:40].mean() - 1
    big, thin = fall(150, False), fall(150, True)
    assert big < calm_fall - 0.005 and thin < big - 0.01, (calm_fall, big, thin)

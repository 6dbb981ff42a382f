"""The functional MarketEnv: spaces, observation shapes, actions, episode ends, jit/vmap."""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env import AgentGroup, EnvConfig, MarketEnv
from quantmarl.env.actions import get_action
from quantmarl.env.keys import step_keys
from quantmarl.market import MarketConfig
from quantmarl.market import step as market_step

MARKET = MarketConfig(reactive=(("market_maker", 2), ("fundamental", 6), ("noise", 8)),
                      background_orders=16, episode_length=12, clearing="cda", book_capacity=32,
                      history=16)
GROUPS = (AgentGroup("market_maker", 1, action="market_maker"),
          AgentGroup("momentum", 2, action="discrete", observation="extended", reward="pnl"),
          AgentGroup("arb", 1, action="limit", reward="sharpe"))


@pytest.fixture(scope="module")
def env():
    return MarketEnv(EnvConfig(groups=GROUPS, market=MARKET))


@pytest.fixture(scope="module")
def jitted(env):
    return jax.jit(env.reset), jax.jit(env.step)


def _random_actions(env, key):
    out = {}
    for i, agent in enumerate(env.agents):
        space = env.action_space(agent)
        k = jax.random.fold_in(key, i)
        if hasattr(space, "nvec"):
            out[agent] = jax.random.randint(k, (len(space.nvec),), 0, jnp.asarray(space.nvec))
        else:
            out[agent] = jax.random.randint(k, (), 0, space.n)
    return out


def test_agents_spaces_and_obs_shapes(env, jitted):
    assert env.agents == ("market_maker_0", "momentum_0", "momentum_1", "arb_0")
    assert env.observation_space("market_maker_0").shape == (13,)
    assert env.observation_space("momentum_1").shape == (15,)
    assert env.action_space("arb_0").nvec.tolist() == [3, 5, 3, 2]
    assert env.observation_space("arb_0") is env.observation_space("arb_0")
    obs, _ = jitted[0](jax.random.key(0), env.default_params)
    for agent, o in obs.items():
        assert o.dtype == jnp.float32 and o.shape == env.observation_space(agent).shape
        assert np.all(np.isfinite(np.asarray(o)))


def test_invalid_actions_are_hold_and_counted(env, jitted):
    reset, step = jitted
    p = env.default_params
    _, state = reset(jax.random.key(0), p)
    acts = {"market_maker_0": jnp.array([9, 0, 0]), "momentum_0": jnp.asarray(7),
            "momentum_1": jnp.asarray(1), "arb_0": jnp.array([1, 0, 0, 0])}
    _, new, _, _, _, info = step(jax.random.key(1), state, acts, p)
    assert bool(info["market_maker_0"]["invalid_action"]) and bool(info["momentum_0"][
        "invalid_action"])
    assert not bool(info["momentum_1"]["invalid_action"])
    held0 = int(state.market.ledger.position[1, 0])
    assert int(new.market.ledger.position[1, 0]) == held0  # invalid -> hold: no trade
    assert int(new.market.ledger.position[2, 0]) >= int(state.market.ledger.position[2, 0])


def test_truncation_bankruptcy_and_auto_reset():
    cfg = EnvConfig(groups=(AgentGroup("t", 1),), market=MARKET, auto_reset=True)
    env = MarketEnv(cfg)
    p = env.default_params
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    _, state = reset(jax.random.key(0), p)
    truncs = []
    for i in range(MARKET.episode_length):
        _, state, _, _, tr, _ = step(jax.random.key(i), state, {"t_0": jnp.asarray(1)}, p)
        truncs.append(bool(tr["t_0"]))
    assert truncs == [False] * (MARKET.episode_length - 1) + [True]
    assert int(state.market.step) == 0 and bool(state.alive[0])  # auto-reset happened
    # a floor above the current wealth terminates the learner at once
    _, state = reset(jax.random.key(0), p)
    _, state, _, term, _, _ = step(jax.random.key(1), state, {"t_0": jnp.asarray(0)},
                                   p.replace(bankrupt_floor=jnp.asarray(2.0)))
    assert bool(term["t_0"])


def test_jit_matches_no_jit_and_is_deterministic():
    # the same groups in a smaller market: op-by-op execution costs per book message
    env = MarketEnv(EnvConfig(groups=GROUPS, market=dataclasses.replace(
        MARKET, reactive=(("market_maker", 1), ("noise", 2)), background_orders=4,
        book_capacity=8)))
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    p = env.default_params
    obs_j, st_j = reset(jax.random.key(3), p)
    acts = _random_actions(env, jax.random.key(4))
    out_j = step(jax.random.key(5), st_j, acts, p)
    out_j2 = step(jax.random.key(5), st_j, acts, p)
    chex.assert_trees_all_equal(out_j, out_j2)
    with jax.disable_jit():
        obs_n, st_n = env.reset(jax.random.key(3), p)
        out_n = env.step(jax.random.key(5), st_n, acts, p)
    chex.assert_trees_all_close(obs_j, obs_n, rtol=1e-6, atol=1e-6)  # float32 statistics
    chex.assert_trees_all_close(out_j[2], out_n[2], rtol=1e-5, atol=1e-7)
    chex.assert_trees_all_equal(out_j[1].market.ledger, out_n[1].market.ledger)


def test_vmap_over_envs_matches_loop(env):
    p = env.default_params
    keys = jax.random.split(jax.random.key(9), 3)
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(keys, p)
    acts = jax.vmap(lambda k: _random_actions(env, k))(keys)
    out = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(keys, states, acts, p)
    for i in range(3):
        _, st = env.reset(keys[i], p)
        single = jax.jit(env.step)(keys[i], st, jax.tree.map(lambda x, i=i: x[i], acts), p)
        chex.assert_trees_all_equal(single[2], jax.tree.map(lambda x, i=i: x[i], out[2]))


def test_step_keys_replays_the_envs_market_step():
    """A control arm that steps the market itself with step_keys's market key and the
    decoded actions reproduces the env's market exactly."""
    market = dataclasses.replace(MARKET, reactive=(("market_maker", 1), ("noise", 2)),
                                 background_orders=4, book_capacity=8)
    group = AgentGroup("t", 2)
    env = MarketEnv(EnvConfig(groups=(group,), market=market))
    p = env.default_params
    _, state = jax.jit(env.reset)(jax.random.key(3), p)
    key = jax.random.key(4)
    _, new, *_ = jax.jit(env.step)(key, state, {"t_0": jnp.asarray(1), "t_1": jnp.asarray(2)}, p)
    rows = [get_action("discrete").decode(jnp.array([a], jnp.int64), group)[0] for a in (1, 2)]
    smart = jax.tree.map(lambda *xs: jnp.stack(xs), *rows)
    k_market, _ = step_keys(key)
    replay, _ = jax.jit(market_step, static_argnums=3)(k_market, state.market, smart,
                                                       env.config.market, p.market)
    chex.assert_trees_all_equal(replay.ledger, new.market.ledger)
    chex.assert_trees_all_equal(replay.last_price, new.market.last_price)

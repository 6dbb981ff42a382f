"""The env's key scheme (quantmarl.env.keys) is the split order the env and the episode
runner use: a control that replays it draws the env's market random numbers."""

from __future__ import annotations

import jax
import numpy as np

from quantmarl.env import keys


def _data(k):
    return np.asarray(jax.random.key_data(k))


def test_key_scheme_is_the_documented_split_order():
    key = jax.random.key(7)
    k_step, k_reset = keys.step_keys(key)
    both = jax.random.split(key)
    np.testing.assert_array_equal(_data(k_step), _data(both[0]))
    np.testing.assert_array_equal(_data(k_reset), _data(both[1]))
    resets, steps = keys.episode_keys(key, 3, 5)
    assert resets.shape == (3,) and steps.shape == (5,)
    np.testing.assert_array_equal(_data(resets), _data(jax.random.split(both[0], 3)))
    np.testing.assert_array_equal(_data(steps), _data(jax.random.split(both[1], 5)))
    k_act, k_envs = keys.turn_keys(steps[0], 3)
    turn = jax.random.split(steps[0])
    np.testing.assert_array_equal(_data(k_act), _data(turn[0]))
    np.testing.assert_array_equal(_data(k_envs), _data(jax.random.split(turn[1], 3)))


def test_env_step_uses_step_keys():
    from quantmarl.env import MarketEnv
    from quantmarl.env.functional import EnvConfig
    from quantmarl.market import MarketConfig, step

    env = MarketEnv(EnvConfig(market=MarketConfig(reactive=(("noise", 4),), episode_length=3,
                                                  background_orders=4)))
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    key = jax.random.key(1)
    actions = {a: np.asarray(env.action_space(a).sample()) for a in env.agents}
    *_, record = env.step_with_record(key, state, actions, params)
    smart, _ = env._decode(actions, state)
    _, direct = step(keys.step_keys(key)[0], state.market, smart, env.config.market,
                     params.market)
    np.testing.assert_array_equal(np.asarray(record.close), np.asarray(direct.close))

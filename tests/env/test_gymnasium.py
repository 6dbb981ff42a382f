"""The single-learner Gymnasium wrapper: gymnasium's env checker, registration, rollouts
and validation."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from quantmarl.env import AgentGroup, EnvConfig
from quantmarl.env.gymnasium import ENV_ID, MarketGymEnv, gymnasium_env
from quantmarl.market import MarketConfig

MARKET = MarketConfig(reactive=(("market_maker", 2), ("noise", 8)), background_orders=16,
                      episode_length=30, clearing="cda", book_capacity=32)
CONFIG = EnvConfig(market=MARKET)


@pytest.fixture(scope="module")
def env():
    e = gymnasium_env(config=CONFIG)
    yield e
    e.close()


@pytest.mark.filterwarnings("ignore:.*Box observation space m.* value is -?infinity:UserWarning")
@pytest.mark.filterwarnings("ignore:.*Not able to test alternative render modes:UserWarning")
@pytest.mark.parametrize("made", [False, True], ids=["direct", "gymnasium.make"])
def test_check_env(env, made):
    # through gymnasium.make the env has a spec, so check_env also tries every render mode
    check_env(gymnasium.make(ENV_ID, config=CONFIG).unwrapped if made else env.unwrapped)


def test_registered_and_make_works():
    assert ENV_ID in gymnasium.registry
    e = gymnasium.make(ENV_ID, config=CONFIG)
    assert isinstance(e.unwrapped, MarketGymEnv)
    obs, info = e.reset(seed=0)
    assert obs.shape == e.observation_space.shape and obs.dtype == np.float32
    e.close()


def test_random_rollout_to_truncation(env):
    obs, info = env.reset(seed=1)
    env.action_space.seed(1)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        total += reward
        assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
        assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
        assert all(type(v) in (bool, int, float) for v in info.values())
        if terminated or truncated:
            break
    assert truncated and steps == MARKET.episode_length
    assert info["episode_return"] == pytest.approx(total, rel=1e-4, abs=1e-7)


def test_defaults_single_discrete_learner():
    e = MarketGymEnv()
    assert e.action_space == spaces.Discrete(3)
    assert e.config.groups == (AgentGroup(),)
    assert e.observation_space.shape == (13,)


def test_group_kwargs_shape_the_learner():
    e = gymnasium_env(action="limit", n_offsets=4, episode_length=50, clearing="cda")
    assert e.action_space == spaces.MultiDiscrete([3, 4, 3, 2])
    assert e.config.market.episode_length == 50


def test_bad_construction_raises():
    with pytest.raises(ValueError, match="count=1"):
        MarketGymEnv(config=EnvConfig(groups=(AgentGroup("a", 2),), market=MARKET))
    with pytest.raises(ValueError, match="count=1"):
        MarketGymEnv(groups=(AgentGroup("a"), AgentGroup("b")))
    with pytest.raises(ValueError, match="tradesize") as err:
        MarketGymEnv(tradesize=3)
    assert "trade_size" in str(err.value)
    with pytest.raises(ValueError, match="render_mode"):
        MarketGymEnv(render_mode="movie")


@pytest.mark.parametrize("action", [3, -1, 0.5, np.array([1, 2])])
def test_out_of_space_action_raises(env, action):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="trader_0") as err:
        env.step(action)
    assert repr(action) in str(err.value)


def test_same_seed_same_trajectory(env):
    def run(seed):
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for a in [1, 2, 0, 1, 1, 2]:
            obs, r, *_ = env.step(a)
            out += [obs, np.array([r], np.float32)]
        return np.concatenate(out)

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_registration_is_guarded_against_re_import():  # keep last: reload replaces classes
    import importlib
    import warnings

    import quantmarl.env.gymnasium as mod

    spec = gymnasium.spec(ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gymnasium warns when an id is registered twice
        importlib.reload(mod)
    assert gymnasium.spec(ENV_ID) is spec

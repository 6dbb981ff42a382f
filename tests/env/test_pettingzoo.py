"""The PettingZoo ParallelEnv shell: PettingZoo's own API and seed tests, the AEC
conversion, spaces, validation of actions and keywords, determinism and episode ends."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec

from quantmarl.env import AgentGroup, EnvConfig
from quantmarl.env.pettingzoo import MarketParallelEnv, make_config, parallel_env
from quantmarl.market import MarketConfig

MARKET = MarketConfig(reactive=(("market_maker", 2), ("noise", 8)), background_orders=16,
                      episode_length=30, clearing="cda", book_capacity=32)
GROUPS = (AgentGroup("mm", 1, action="market_maker"), AgentGroup("trader", 2),
          AgentGroup("lim", 1, action="limit"))
CONFIG = EnvConfig(groups=GROUPS, market=MARKET)
AGENTS = ["mm_0", "trader_0", "trader_1", "lim_0"]


@pytest.fixture(scope="module")
def env():
    e = parallel_env(config=CONFIG)
    yield e
    e.close()


def _sample(env, seed):
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    return lambda: {a: env.action_space(a).sample() for a in env.agents}


def test_metadata_and_agents(env):
    assert isinstance(env, MarketParallelEnv)
    assert env.metadata["name"] == "quantmarl_market_v0"
    assert env.metadata["is_parallelizable"] is True
    assert set(env.metadata["render_modes"]) == {"ansi", "rgb_array", "human"}
    assert env.possible_agents == AGENTS
    assert isinstance(env.action_space("mm_0"), spaces.MultiDiscrete)
    assert isinstance(env.action_space("trader_0"), spaces.Discrete)
    assert env.action_space("lim_0").shape == (4,)


def test_parallel_api(env):
    parallel_api_test(env, num_cycles=1000)  # 30-step episodes: truncation and resets


def test_parallel_seed():
    parallel_seed_test(lambda: parallel_env(config=CONFIG))


@pytest.mark.filterwarnings("ignore:Action space for each agent probably should be:UserWarning")
@pytest.mark.filterwarnings("ignore:Agent's m.* observation space value is:UserWarning")
def test_aec_api(env):
    api_test(parallel_to_aec(env), num_cycles=200)


def test_spaces_are_cached_per_instance(env):
    for agent in env.possible_agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
    other = parallel_env(config=CONFIG)  # shares the compiled functions, not the spaces
    assert other.action_space("mm_0") is not env.action_space("mm_0")
    assert other.action_space("mm_0") == env.action_space("mm_0")


def test_outputs_are_numpy_and_python_scalars(env):
    obs, infos = env.reset(seed=3)
    assert set(obs) == set(infos) == set(AGENTS)
    sample = _sample(env, 0)
    obs, rew, term, trunc, info = env.step(sample())
    for a in AGENTS:
        assert isinstance(obs[a], np.ndarray) and obs[a].dtype == np.float32
        assert obs[a].flags.writeable
        assert env.observation_space(a).contains(obs[a])
        assert type(rew[a]) is float
        assert type(term[a]) is bool and type(trunc[a]) is bool
        assert set(info[a]) == {"invalid_action", "wealth", "episode_return", "position"}
        assert all(type(v) in (bool, int, float) for v in info[a].values())
        assert info[a]["invalid_action"] is False


def test_truncation_removes_agents_and_later_steps_are_empty(env):
    env.reset(seed=4)
    sample = _sample(env, 1)
    for t in range(MARKET.episode_length):
        assert env.agents == AGENTS
        obs, rew, term, trunc, info = env.step(sample())
        assert set(obs) == set(AGENTS)
        assert all(trunc.values()) == (t == MARKET.episode_length - 1)
    assert env.agents == []
    assert env.step({}) == ({}, {}, {}, {}, {})


def test_terminated_agents_are_removed_and_their_actions_ignored():
    e = parallel_env(config=CONFIG)
    e.params = e.params.replace(bankrupt_floor=jnp.asarray(2.0))  # everyone is "bankrupt"
    e.reset(seed=0)
    _, rew, term, trunc, _ = e.step(_sample(e, 0)())
    assert all(term.values()) and not any(trunc.values())
    assert e.agents == []
    # actions for done agents are ignored, even invalid ones
    assert e.step({"mm_0": np.array([99, 99, 99]), "trader_0": 7}) == ({}, {}, {}, {}, {})


@pytest.mark.parametrize(("agent", "action"), [
    ("trader_0", 3), ("trader_0", -1), ("trader_0", 1.5), ("trader_0", np.array([1, 1])),
    ("mm_0", np.array([0, 0, 5])), ("mm_0", np.array([0, 0])), ("lim_0", np.array([1, 0, 0, 2])),
])
def test_out_of_space_action_raises_naming_agent_and_action(env, agent, action):
    env.reset(seed=0)
    actions = _sample(env, 0)()
    actions[agent] = action
    with pytest.raises(ValueError, match=agent) as err:
        env.step(actions)
    assert repr(action) in str(err.value)
    assert env.agents == AGENTS  # nothing happened


def test_missing_or_unknown_agents_raise(env):
    env.reset(seed=0)
    actions = _sample(env, 0)()
    del actions["trader_1"]
    with pytest.raises(ValueError, match="missing actions.*trader_1"):
        env.step(actions)
    actions = _sample(env, 0)()
    actions["ghost_0"] = 0
    with pytest.raises(ValueError, match="unknown agents.*ghost_0"):
        env.step(actions)


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        parallel_env(config=CONFIG).step({})


def test_unknown_kwarg_names_it_and_the_accepted_ones():
    with pytest.raises(ValueError, match="episode_lenght") as err:
        parallel_env(episode_lenght=10)
    assert "episode_length" in str(err.value) and "clearing" in str(err.value)
    with pytest.raises(ValueError, match="render_mode"):
        parallel_env(render_mode="video")
    with pytest.raises(ValueError, match="config"):
        parallel_env(config=MARKET)
    with pytest.raises(ValueError, match="clearing"):  # MarketConfig validation
        parallel_env(clearing="dark_pool")


def test_convenience_kwargs_build_the_config():
    cfg = make_config(CONFIG, episode_length=7, clearing="auction")
    assert cfg.market.episode_length == 7 and cfg.market.clearing == "auction"
    assert cfg.groups == GROUPS and cfg.market.reactive == MARKET.reactive
    e = parallel_env(groups=[AgentGroup("a", 3)], background_orders=8)
    assert e.possible_agents == ["a_0", "a_1", "a_2"]
    assert e.config.market.background_orders == 8 and e.config.market.n_smart == 3
    assert make_config(EnvConfig(auto_reset=True)).auto_reset is False


def _rollout(seed, steps=12):
    e = parallel_env(config=CONFIG)
    sample = _sample(e, 100)
    obs, _ = e.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, rew, *_ = e.step(sample())
        out.append((obs, rew))
    return out


def _flat(rollout):
    obs0, rest = rollout[0], rollout[1:]
    parts = [obs0[a] for a in AGENTS]
    for obs, rew in rest:
        parts += [obs[a] for a in AGENTS] + [np.array([rew[a] for a in AGENTS])]
    return np.concatenate(parts).astype(np.float64)


def test_determinism_per_seed():
    a, b, c = _rollout(7), _rollout(7), _rollout(8)
    np.testing.assert_array_equal(_flat(a), _flat(b))
    assert not np.array_equal(_flat(a), _flat(c))


def test_unseeded_reset_continues_the_seeded_stream_and_fresh_envs_differ(env):
    def first_step(seed=None):  # reset observations do not depend on the key; a step does
        env.reset(seed=seed)
        return env.step({a: env.action_space(a).sample() for a in env.agents})[0]["trader_0"]

    _sample(env, 0)
    obs1, obs2 = first_step(11), first_step()
    _sample(env, 0)
    obs3, obs4 = first_step(11), first_step()
    np.testing.assert_array_equal(obs1, obs3)
    np.testing.assert_array_equal(obs2, obs4)
    assert not np.array_equal(obs1, obs2)
    firsts = []
    for _ in range(2):  # never seeded: fresh entropy, so the markets' first steps differ
        e = parallel_env(config=CONFIG)
        e.reset()
        firsts.append(e.step(_sample(e, 0)())[0]["trader_0"])
    assert not np.array_equal(*firsts)

"""The learning ladder: PPO, with the default learning rate and entropy bonus, finds answers
known in advance.

1. A one-step bandit built on the env API: each episode is one market step, the reward is
   1 when the learner ends it long (it starts flat), so buying is optimal; the trained
   policy (sampled, as it trains) reaches >= 95% of the always-buy oracle's expected reward.
2. A planted, learnable signal: good news lifts the fundamental value 20% at step 1 and
   value traders carry the price up over the 32-step episode (the background flow does not
   lean toward value), so buying early is the trade. The greedy policy earns >= 50% of the
   always-buy oracle's PnL in excess of holding, and beats random and hold-only on PnL with
   non-overlapping 95% intervals (not on Sharpe: holding the initial position through a
   steady rise already has a high Sharpe ratio).

Learners of the default types in the training market are checked by the slow test in
``tests/rl/test_ladder_slow.py`` and by ``python -m experiments.learners``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env.rewards import REWARDS
from quantmarl.env.types import AgentGroup
from quantmarl.events import make_schedule, news_event
from quantmarl.rl import TrainConfig, make_trainer
from quantmarl.rl import config as rl_config
from quantmarl.rl.compare import compare
from quantmarl.rl.evaluate import POLICIES, make_comparison, make_episodes
from quantmarl.rl.train import build_env, build_env_params

MARKET = dict(background_orders=16,
              reactive=(("market_maker", 2), ("fundamental", 16), ("noise", 8)))


def _always_buy(group, key, obs):
    return jnp.ones((*obs.shape[:-1], 1), jnp.int32)  # discrete action 1: buy


def _long(ctx, params):
    """Bandit reward: 1 when the learner holds a long position after the step."""
    return (ctx.inventory > 0).astype(jnp.float32), ctx.carry


@pytest.fixture
def bandit_type(monkeypatch):
    monkeypatch.setitem(REWARDS, "ladder_long", _long)
    monkeypatch.setitem(rl_config.AGENT_TYPES, "bandit",
                        AgentGroup(name="bandit", action="discrete", reward="ladder_long",
                                   trade_size=1))
    return "bandit"


def test_one_step_bandit_reaches_95_percent_of_optimal(bandit_type):
    config = TrainConfig(agent_types=(bandit_type,), n_envs=32, n_steps=8, iterations=60,
                         hidden=(32, 32), reward_scale=1.0,
                         market=rl_config.train_market(episode_length=1, **MARKET))
    env = build_env(config)
    params = build_env_params(config, env)
    params = params.replace(market=params.market.replace(
        initial_position=jnp.asarray(0, jnp.int64)))  # flat: long only by buying
    trainer = make_trainer(config, env_params=params)
    runner = jax.jit(trainer.train)(jax.random.key(0)).runner

    def expected_reward(policy) -> float:
        _, rec = make_episodes(trainer, 512, policy, records=True)(jax.random.key(1),
                                                                  runner.params)
        return float((np.asarray(rec.agent_qty)[:, 0, 0, 0] > 0).mean())  # learner: account 0

    optimal = expected_reward(_always_buy)
    assert optimal > 0.9  # a buy almost always fills: the bandit is well posed
    assert expected_reward("random") < 0.5 * optimal  # and not solved by chance
    assert expected_reward("sample") >= 0.95 * optimal


def test_planted_signal_earns_half_the_oracle_and_beats_baselines():
    config = TrainConfig(agent_types=("momentum_trader",), n_envs=32, n_steps=32,
                         iterations=30, hidden=(32, 32),
                         market=rl_config.train_market(episode_length=32, **MARKET))
    env = build_env(config)
    params = build_env_params(config, env)
    schedule = make_schedule([news_event(0.2, start=1)], capacity=env.config.market.max_events)
    background = params.market.background.replace(value_pull=jnp.asarray(0.0))
    params = params.replace(market=params.market.replace(schedule=schedule,
                                                         background=background))
    trainer = make_trainer(config, env_params=params)
    runner = jax.jit(trainer.train)(jax.random.key(0)).runner

    key = jax.random.key(123)  # fresh evaluation episodes, the same for every policy
    paths = dict(zip(POLICIES, np.asarray(make_comparison(trainer, 64)(key, runner.params)),
                     strict=True))
    paths["oracle"] = np.asarray(make_episodes(trainer, 64, _always_buy)(key, runner.params))
    result = compare({k: v[None] for k, v in paths.items()}, {"momentum_trader": [0]})
    pnl_ci = {k: v["pnl"]["ci95"] for k, v in result["momentum_trader"]["policies"].items()}
    assert pnl_ci["greedy"][0] > max(pnl_ci["random"][1], pnl_ci["hold"][1])
    pnl = {k: v["pnl"]["mean"] for k, v in result["momentum_trader"]["policies"].items()}
    assert pnl["oracle"] - pnl["hold"] > 0.005  # the signal is worth trading
    assert pnl["greedy"] - pnl["hold"] >= 0.5 * (pnl["oracle"] - pnl["hold"])

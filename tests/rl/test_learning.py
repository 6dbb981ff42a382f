"""PPO learns: on a trivially predictable market it clearly beats a random policy.

The market: good news lifts the fundamental value 20% at step 1 and value
traders carry the price up over the 32-step episode (the background flow does
not lean toward value here, so the price discovers the news slowly), so
buying early is the obvious trade. A random trader (buy / sell / hold uniformly) gains from its
initial holding only; a trained one buys.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.events import make_schedule, news_event
from quantmarl.rl import TrainConfig, make_trainer
from quantmarl.rl.config import train_market
from quantmarl.rl.evaluate import make_episodes, summarise
from quantmarl.rl.train import build_env, build_env_params


def test_ppo_beats_random_on_a_predictable_market():
    config = TrainConfig(agent_types=("trader",), n_envs=32, n_steps=32, iterations=30,
                         update_epochs=4, n_minibatches=4, hidden=(32, 32), ent_coef=0.0,
                         lr=3e-3, market=train_market(
                             episode_length=32, background_orders=16,
                             reactive=(("market_maker", 2), ("fundamental", 16), ("noise", 8))))
    env = build_env(config)
    params = build_env_params(config, env)
    schedule = make_schedule([news_event(0.2, start=1)], capacity=env.config.market.max_events)
    background = params.market.background.replace(value_pull=jnp.asarray(0.0))
    params = params.replace(market=params.market.replace(schedule=schedule,
                                                         background=background))
    trainer = make_trainer(config, env_params=params)
    out = jax.jit(trainer.train)(jax.random.key(0))

    pnl_curve = np.asarray(out.metrics["trader"]["pnl"])
    early, late = np.nanmean(pnl_curve[:4]), np.nanmean(pnl_curve[-4:])
    assert late > 2 * early  # the training curve rises

    key = jax.random.key(123)  # fresh evaluation episodes
    trained = summarise(make_episodes(trainer, 64, "greedy")(key, out.runner.params),
                        env.agents)["trader_0"]
    random = summarise(make_episodes(trainer, 64, "random")(key, out.runner.params),
                       env.agents)["trader_0"]
    # clearly better: the trained policy's 95% interval lies above the random one's
    assert trained["pnl"]["ci95"][0] > random["pnl"]["ci95"][1]
    assert trained["pnl"]["mean"] > 2 * random["pnl"]["mean"]

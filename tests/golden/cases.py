"""The golden cases: fixed-key runs whose every output is pinned bit for bit.

Each case returns a flat ``{name: numpy array}``. ``tests/golden/data/*.npz``
holds the recorded values; ``python -m tests.golden.regenerate`` records them
anew (only when a change of behaviour is intended, and said so in its commit).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.env import AgentGroup, EnvConfig, MarketEnv
from quantmarl.events import (
    breaker_rules,
    flash_crash,
    liquidity_shock,
    make_schedule,
    news_event,
    volatility_spike,
)
from quantmarl.market import MarketConfig, default_params, run
from quantmarl.rl import TrainConfig, make_trainer
from quantmarl.rl.config import train_market
from quantmarl.rl.train import seed_keys

REACTIVE = (("market_maker", 4), ("fundamental", 12), ("momentum", 6), ("mean_reversion", 6),
            ("noise", 16), ("arbitrage", 2))


def _flatten(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    out = {}
    for path, leaf in leaves:
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out[prefix + jax.tree_util.keystr(path)] = np.asarray(leaf)
    return out


def market_case(clearing: str) -> dict[str, np.ndarray]:
    """Two assets, every behaviour, four kinds of event and the breaker, 60 steps."""
    config = MarketConfig(n_assets=2, clearing=clearing, background_orders=24,
                          episode_length=60, book_capacity=64, reactive=REACTIVE)
    schedule = make_schedule(
        [flash_crash(0.08, duration=4, start=20, asset=0), volatility_spike(2.0, 10, 30),
         liquidity_shock(2.0, duration=8, start=40, asset=1), news_event(0.03, start=50)],
        capacity=config.max_events)
    params = default_params(config).replace(
        schedule=schedule,
        breaker=breaker_rules(threshold=0.04, window=5, halt_steps=4,
                              history_len=config.history))
    state, records = run(jax.random.key(11), config, params)
    out = _flatten("record", records)
    out |= _flatten("ledger", state.ledger)
    out["rejections"] = np.asarray(state.rejections)
    out["last_price"] = np.asarray(state.last_price)
    return out


ENV_MARKET = dict(reactive=(("market_maker", 2), ("fundamental", 6), ("momentum", 4),
                            ("noise", 8)),
                  background_orders=16, episode_length=15, book_capacity=32, history=16)
ENV_GROUPS = (AgentGroup("market_maker", 1, action="market_maker"),
              AgentGroup("momentum", 2, action="discrete", observation="extended",
                         reward="pnl"),
              AgentGroup("arb", 1, action="limit", reward="sharpe"))


def env_case() -> dict[str, np.ndarray]:
    """An auto-resetting CDA env over 20 steps of uniformly random actions (crosses a reset)."""
    env = MarketEnv(EnvConfig(groups=ENV_GROUPS, market=MarketConfig(clearing="cda",
                                                                    **ENV_MARKET)))
    params = env.default_params
    key = jax.random.key(5)
    obs, state = jax.jit(env.reset)(key, params)
    step = jax.jit(env.step)
    out = _flatten("obs0", obs)
    rows = []
    for _ in range(20):
        key, k_act, k_step = jax.random.split(key, 3)
        keys = jax.random.split(k_act, env.num_agents)
        actions = {}
        for i, agent in enumerate(env.agents):
            space = env.action_space(agent)
            nvec = np.atleast_1d(getattr(space, "nvec", getattr(space, "n", None)))
            actions[agent] = jnp.squeeze(jax.random.randint(
                keys[i], nvec.shape, 0, jnp.asarray(nvec))).astype(jnp.int32)
            if not hasattr(space, "nvec"):
                actions[agent] = actions[agent].reshape(())
        obs, state, rewards, terms, truncs, _ = step(k_step, state, actions, params)
        rows.append((obs, rewards, terms, truncs))
    obs_t, rew_t, term_t, trunc_t = jax.tree.map(lambda *x: jnp.stack(x), *rows)
    out |= _flatten("obs", obs_t) | _flatten("reward", rew_t)
    out |= _flatten("terminated", term_t) | _flatten("truncated", trunc_t)
    out |= _flatten("ledger", state.market.ledger)
    return out


PPO = dict(agent_types=("market_maker", "momentum_trader"), n_envs=4, n_steps=8, iterations=3,
           update_epochs=2, n_minibatches=2, hidden=(16,), seeds=2,
           market=train_market(episode_length=12, background_orders=8,
                               reactive=(("market_maker", 2), ("fundamental", 4), ("noise", 4))))


def ppo_case() -> dict[str, np.ndarray]:
    """Two seeds of a two-group PPO run trained in one vmapped call: params and metrics."""
    config = TrainConfig(**PPO)
    out = jax.jit(jax.vmap(make_trainer(config).train))(seed_keys(config))
    params = _flatten("params", out.runner.params)
    flat = np.concatenate([np.ravel(x).astype(np.float64) for x in params.values()])
    return {"params_checksum": np.asarray(np.sum(flat)), "params_abs": np.asarray(
        np.sum(np.abs(flat)))} | params | _flatten("metrics", out.metrics)


CASES = {"market_cda": lambda: market_case("cda"),
         "market_auction": lambda: market_case("auction"),
         "env_rollout": env_case,
         "ppo": ppo_case}

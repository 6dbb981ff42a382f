"""Rollouts over the vmapped functional env: shapes, dtypes, determinism, auto-reset."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env import AgentGroup, EnvConfig, MarketEnv
from quantmarl.market import MarketConfig
from quantmarl.rl.networks import ActorCritic, policy_step
from quantmarl.rl.rollout import group_nvec, make_rollout, stack_obs


@pytest.mark.parametrize("auto_reset", [True, False])
def test_rollout_shapes_determinism_and_auto_reset(auto_reset):
    """Env-side auto-reset and the rollout's own reset of finished envs: same semantics."""
    env = MarketEnv(EnvConfig(
        groups=(AgentGroup("mm", 1, action="market_maker"), AgentGroup("trend", 2)),
        market=MarketConfig(reactive=(("fundamental", 4), ("noise", 6)), background_orders=16,
                            episode_length=5, history=8),
        auto_reset=auto_reset))
    nvecs = group_nvec(env)
    assert nvecs == {"mm": (5, 5, 3), "trend": (3,)}
    nets = {g: ActorCritic(nvec=n, hidden=(16,)) for g, n in nvecs.items()}
    n_envs, n_steps = 3, 8
    p = env.default_params
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.key(0), n_envs), p)
    g_obs = stack_obs(env, obs)
    params = {g: nets[g].init(jax.random.key(1), g_obs[g]) for g in nets}
    rollout = jax.jit(make_rollout(env, {g: policy_step(nets[g]) for g in nets}, n_steps))
    memory = {g: jnp.zeros((n_envs, g_obs[g].shape[-2], 0), jnp.float32) for g in nets}
    out1 = rollout(jax.random.key(2), states, obs, memory, params, p)
    out2 = rollout(jax.random.key(2), states, obs, memory, params, p)
    chex.assert_trees_all_equal(out1, out2)
    traj = out1[3]
    assert traj["mm"].obs.shape == (n_steps, n_envs, 1, 13)
    assert traj["mm"].action.shape == (n_steps, n_envs, 1, 3)
    assert traj["trend"].action.shape == (n_steps, n_envs, 2, 1)
    assert traj["trend"].reward.dtype == jnp.float32
    done = np.asarray(traj["trend"].done)
    assert done[4].all() and not done[:4].any()  # episode of 5 steps, then auto-reset
    assert not done[5:].any()
    first = np.asarray(traj["trend"].first)  # memory is cleared at steps 0 and 5
    assert first[[0, 5]].all() and not first[[1, 2, 3, 4, 6, 7]].any()
    states_after = out1[0]
    np.testing.assert_array_equal(np.asarray(states_after.market.step), [3, 3, 3])  # 8 = 5 + 3
    assert np.asarray(states_after.alive).all()
    # the observation after the last step of an episode is the new episode's: time_left 1
    np.testing.assert_allclose(np.asarray(traj["trend"].obs[5, :, :, -1]), 1.0)
    for t in traj.values():
        assert np.all(np.isfinite(np.asarray(t.log_prob)))
        assert np.all(np.isfinite(np.asarray(t.value)))

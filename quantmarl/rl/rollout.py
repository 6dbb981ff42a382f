"""Rollouts: ``lax.scan`` over a vmapped functional :class:`~quantmarl.env.MarketEnv`.

Learners are grouped as in the env's ``EnvConfig.groups``; each group has one
policy (parameter sharing within the group, independent across groups:
IPPO). Observations, actions and transitions are stored per group with a
trailing agent axis: ``[T, n_envs, count, ...]``.

Episode ends: with ``EnvConfig(auto_reset=True)`` the env resets itself, which
under ``vmap`` means computing a fresh reset at every step and selecting it.
With ``auto_reset=False`` the rollout does the same job cheaper: after each
step, one ``lax.cond`` on "has any env finished?" (an unbatched predicate, so
it truly branches) resets the finished envs; the reset is computed only on the
steps where an episode ends. The two give the same semantics: the observation
returned at an episode's last step is the new episode's.

Memory: every group's policy is a step function ``(params, carry, x) -> (carry,
logits, value)`` (:func:`quantmarl.rl.networks.policy_step`). The rollout carries
each group's ``carry`` (``[n_envs, count, carry_size]``; size 0 for feedforward
policies) and zeroes it where an episode starts (market step 0), recording that
flag as ``Transition.first`` so that PPO can replay the sequence exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.env import MarketEnv
from quantmarl.rl import distributions


@struct.dataclass
class Transition:
    obs: jax.Array  # float32 [T, n_envs, count, obs_dim]
    first: jax.Array  # bool [T, n_envs, count] first step of an episode (memory zeroed)
    action: jax.Array  # int32 [T, n_envs, count, len(nvec)]
    reward: jax.Array  # float32 [T, n_envs, count]
    done: jax.Array  # bool [T, n_envs, count] episode ended at this step
    log_prob: jax.Array  # float32 [T, n_envs, count]
    value: jax.Array  # float32 [T, n_envs, count]
    episode_return: jax.Array  # float32 [T, n_envs, count] return so far (final where done)
    pnl: jax.Array  # float32 [T, n_envs, count] marked wealth / initial wealth - 1


def group_agents(env: MarketEnv) -> dict[str, tuple[str, ...]]:
    """Group name -> its agents, in env order."""
    out, i = {}, 0
    for g in env.config.groups:
        out[g.name] = env.agents[i : i + g.count]
        i += g.count
    return out


def group_nvec(env: MarketEnv) -> dict[str, tuple[int, ...]]:
    """Group name -> the action component sizes of its (shared) action space."""
    out = {}
    for name, agents in group_agents(env).items():
        space = env.action_space(agents[0])
        out[name] = tuple(int(n) for n in space.nvec) if hasattr(space, "nvec") else (
            int(space.n),)
    return out


def stack_obs(env: MarketEnv, obs: dict) -> dict[str, jax.Array]:
    """Agent-keyed obs -> group-keyed ``[..., count, obs_dim]``."""
    return {g: jnp.stack([obs[a] for a in agents], axis=-2)
            for g, agents in group_agents(env).items()}


def unstack_actions(env: MarketEnv, actions: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """Group-keyed ``[..., count, k]`` actions -> agent-keyed (scalars for Discrete)."""
    out = {}
    for g, agents in group_agents(env).items():
        space = env.action_space(agents[0])
        for i, a in enumerate(agents):
            act = actions[g][..., i, :]
            out[a] = act if hasattr(space, "nvec") else act[..., 0]
    return out


def _reset_finished(env: MarketEnv, key, obs, state, params):
    """Reset the envs whose learners are all done (``[n_envs]`` batch); skipped entirely
    (``lax.cond`` on an unbatched predicate) when none is."""
    finished = ~jnp.any(state.alive, axis=-1)  # [n_envs]

    def reset_some(_):
        n = finished.shape[0]
        obs_r, state_r = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, n), params)

        def pick(r, s):
            return jnp.where(finished.reshape((n,) + (1,) * (s.ndim - 1)), r, s)

        return jax.tree.map(pick, obs_r, obs), jax.tree.map(pick, state_r, state)

    return jax.lax.cond(jnp.any(finished), reset_some, lambda _: (obs, state), None)


def episode_start(env_state) -> jax.Array:
    """bool ``[n_envs]``: the env's next observation is the first of an episode."""
    return env_state.market.step == 0


def clear_memory(carry: jax.Array, first: jax.Array) -> jax.Array:
    """``carry [..., count, k]`` zeroed where ``first [...]`` (an episode starts)."""
    return jnp.where(first[..., None, None], 0.0, carry).astype(carry.dtype)


def make_rollout(env: MarketEnv, step_fns: dict[str, Callable], n_steps: int,
                 inputs_fn: Callable | None = None):
    """Build ``rollout(key, env_state, obs, carry, policy_params, env_params) ->
    (env_state, obs, carry, traj)``.

    ``env_state``, ``obs`` and ``carry`` (group -> float32 ``[n_envs, count, k]``)
    carry a leading ``n_envs`` axis; ``step_fns[g](params, carry, x)`` returns
    ``(carry, logits, value)`` for group ``g``; ``traj`` maps group -> :class:`Transition`.
    ``inputs_fn(group_obs) -> group_inputs`` turns the stacked observations into the
    networks' inputs (default: the observations themselves; MAPPO appends the global
    state); ``Transition.obs`` holds these inputs.
    """
    nvecs = group_nvec(env)
    groups = group_agents(env)
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def one_step(carry, key):
        env_state, obs, memory, policy_params, env_params = carry
        g_obs = stack_obs(env, obs)
        if inputs_fn is not None:
            g_obs = inputs_fn(g_obs)
        first = episode_start(env_state)
        k_act, k_env = jax.random.split(key)
        actions, logps, values, memory = {}, {}, {}, dict(memory)
        for i, g in enumerate(groups):
            memory[g], logits, value = step_fns[g](policy_params[g],
                                                   clear_memory(memory[g], first), g_obs[g])
            a = distributions.sample(jax.random.fold_in(k_act, i), logits, nvecs[g])
            actions[g], values[g] = a, value
            logps[g] = distributions.log_prob(logits, a, nvecs[g])
        n_envs = jax.tree.leaves(env_state)[0].shape[0]
        k_env, k_reset = jax.random.split(k_env)
        new_obs, env_state, rewards, terms, truncs, infos = step(
            jax.random.split(k_env, n_envs), env_state, unstack_actions(env, actions), env_params)
        if not env.config.auto_reset:
            new_obs, env_state = _reset_finished(env, k_reset, new_obs, env_state, env_params)
        traj = {}
        for g, agents in groups.items():
            done = jnp.stack([terms[a] | truncs[a] for a in agents], axis=-1)
            traj[g] = Transition(obs=g_obs[g], first=jnp.broadcast_to(first[:, None],
                                                                      done.shape),
                                 action=actions[g],
                                 reward=jnp.stack([rewards[a] for a in agents], -1).astype(
                                     jnp.float32),
                                 done=done, log_prob=logps[g], value=values[g],
                                 episode_return=jnp.stack(
                                     [infos[a]["episode_return"] for a in agents], -1),
                                 pnl=jnp.stack([infos[a]["wealth"] for a in agents], -1) - 1.0)
        return (env_state, new_obs, memory, policy_params, env_params), traj

    def rollout(key, env_state, obs, carry, policy_params, env_params):
        (env_state, obs, carry, _, _), traj = jax.lax.scan(
            one_step, (env_state, obs, carry, policy_params, env_params),
            jax.random.split(key, n_steps))
        return env_state, obs, carry, traj

    return rollout

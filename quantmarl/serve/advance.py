"""A live simulation's jitted advance: up to :data:`CHUNK` env steps per call, compiled
once per env config, each smart-tier slot acting by its controller.

Controllers (:data:`CONTROLLERS`) are chosen per slot by a traced int32 code, so
binding a slot to another controller never recompiles:

* ``hold``: never trades (the encoding's hold action; see :mod:`quantmarl.rl.baselines`);
* ``random``: uniform over the slot's action space;
* ``scripted``: the group's scripted rule on its own observation
  (:func:`quantmarl.rl.baselines.scripted_actions`);
* ``external``: the action given by the caller (a remote agent or a person), the
  same on every step of the call.

The function holds no market logic: it chooses actions and calls
:meth:`quantmarl.env.MarketEnv.step_with_record`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from quantmarl.env.functional import MarketEnv
from quantmarl.rl import baselines
from quantmarl.rl.rollout import group_agents, group_nvec, stack_obs, unstack_actions

CONTROLLERS = ("hold", "random", "scripted", "external")
CODE = {name: i for i, name in enumerate(CONTROLLERS)}
CHUNK = 32  # steps per compiled call (a request for more makes several calls)


def has_scripted_rule(group) -> bool:
    """Whether ``group`` (an :class:`~quantmarl.env.AgentGroup`) has a scripted rule."""
    if group.action == "market_maker":
        return True
    try:
        baselines.rule_for(group)
    except ValueError:
        return False
    return group.action in ("discrete", "limit")


def make_advance(env: MarketEnv, chunk: int = CHUNK) -> Callable:
    """``advance(key, state, obs, modes, external, params, n)`` ->
    ``((state, obs), (record [chunk, ...], cash [chunk, n_smart], position [chunk, n_smart,
    A], reward float32 [chunk, n_smart]))``: up to ``chunk`` steps, of which the first
    ``n`` (traced, ``<= chunk``) are taken and the rest are skipped (their outputs are
    zeros; callers keep the first ``n``).

    ``modes``: group -> int32 [count] controller codes; ``external``: group -> int32
    [count, k] actions. Step ``t`` of the market draws from ``fold_in(key, t)``, so a run
    does not depend on how it is cut into calls.
    """
    groups = group_agents(env)
    nvecs = group_nvec(env)
    specs = {g.name: g for g in env.config.groups}
    n_smart = env.num_agents

    def choose(key, g, obs, mode, ext):
        spec, nvec = specs[g], nvecs[g]
        count, k = len(groups[g]), len(nvec)
        hold = baselines.hold_actions(spec, (count,), k)
        rand = jax.random.randint(key, (count, k), 0, jnp.asarray(nvec)).astype(jnp.int32)
        rule = baselines.scripted_actions(spec, obs, k) if has_scripted_rule(spec) else hold
        every = jnp.stack([hold, rand, rule.astype(jnp.int32), ext.astype(jnp.int32)])
        return every[mode, jnp.arange(count)]

    def advance(key, state, obs, modes, external, params, n):
        def one(carry):
            state, obs = carry
            k_act, k_env = jax.random.split(jax.random.fold_in(key, state.market.step))
            g_obs = stack_obs(env, obs)
            actions = {g: choose(jax.random.fold_in(k_act, i), g, g_obs[g], modes[g],
                                 external[g])
                       for i, g in enumerate(groups)}
            obs, state, rewards, *_, record = env.step_with_record(
                k_env, state, unstack_actions(env, actions), params)
            ledger = state.market.ledger
            reward = jnp.stack([rewards[a] for a in env.agents])
            return (state, obs), (record, ledger.cash[:n_smart], ledger.position[:n_smart],
                                  reward)

        def body(carry, i):
            shapes = jax.eval_shape(one, carry)[1]
            skip = lambda c: (c, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes))
            return jax.lax.cond(i < n, one, skip, carry)

        return jax.lax.scan(body, (state, obs), jnp.arange(chunk))

    return jax.jit(advance)

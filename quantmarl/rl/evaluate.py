"""Evaluate trained (or random) policies: whole episodes vmapped in one jitted call, then
per-agent PnL, Sharpe, maximum drawdown and win rate with 95% intervals over episodes.

``episodes(trainer, params, key, n_episodes)`` runs ``n_episodes`` fresh episodes of the
trainer's market (learners act with ``params``; frozen opponents with theirs) and
returns each learner's marked-wealth path ``[n_episodes, T + 1, n_agents]``
(wealth / initial wealth). ``summarise(wealth, agents)`` turns paths into the
statistics (host side, numpy/scipy).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.env.functional import MarketEnv
from quantmarl.env.keys import episode_keys, turn_keys
from quantmarl.quant import intervals
from quantmarl.rl import baselines
from quantmarl.rl.compare import compare
from quantmarl.rl.policy import act
from quantmarl.rl.rollout import (
    clear_memory,
    episode_start,
    group_agents,
    stack_obs,
    unstack_actions,
)
from quantmarl.rl.train import Trainer

POLICIES = ("greedy", "sample", *baselines.BASELINES)


def make_episodes(trainer: Trainer, n_episodes: int, policy: str = "sample",
                  records: bool = False, env_params=None):
    """``run(key, params, env_params=None) -> wealth float32 [n_episodes, T + 1, n_agents]``
    (jitted).

    With ``records`` it returns ``(wealth, records)``, ``records`` the market's
    :class:`~quantmarl.market.state.StepRecord` per step, ``[n_episodes, T, ...]``.
    ``env_params`` replaces the trainer's (e.g. a stress-event schedule for evaluation):
    given to ``make_episodes`` it is fixed in the compiled function; given to ``run``
    it is traced, so one compiled ``run`` serves every schedule, fee or breaker setting.

    ``policy``: ``"sample"`` (stochastic policy), ``"greedy"`` (mode of each
    action component), or a baseline for the learners (:mod:`quantmarl.rl.baselines`):
    ``"random"`` (uniform actions), ``"hold"`` (never trade) or ``"scripted"`` (the
    group's rule on its observation); the opponents keep their policies. A function
    ``policy(group, key, obs) -> actions`` (obs float32 ``[n_episodes, count, d]``,
    actions int32 ``[n_episodes, count, len(nvec)]``) plays every learner group by hand,
    e.g. an oracle that knows the market's planted signal.
    """
    if not callable(policy) and policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES} or a function, got {policy!r}")
    run = _episodes(trainer, n_episodes, records, env_params)
    return jax.jit(lambda key, params, env_params=None: run(key, params, env_params, policy))


def make_comparison(trainer: Trainer, n_episodes: int, policies: tuple[str, ...] = POLICIES,
                    records: bool = False):
    """``run(key, params, env_params=None) -> wealth float32 [P, n_episodes, T + 1,
    n_agents]`` (jitted once for every policy), ``P = len(policies)`` (names from
    :data:`POLICIES`): each policy plays the same episodes (the same reset, market and
    opponent keys: common random numbers). ``"NAME#n"`` (n >= 1) is policy NAME with
    the learners' own action draws taken from stream n (everything else unchanged): two
    replicates of a stochastic policy for an A/A (placebo) comparison. With
    ``records``: ``(wealth, records)``, records ``[P, n_episodes, T, ...]``.
    ``env_params`` (traced) replaces the trainer's, e.g. a stress schedule."""
    parsed = [_parse_policy(p) for p in policies]
    run = _episodes(trainer, n_episodes, records, None)
    ids = jnp.asarray([POLICIES.index(name) for name, _ in parsed], jnp.int32)
    streams = jnp.asarray([n for _, n in parsed], jnp.uint32)
    return jax.jit(lambda key, params, env_params=None: jax.vmap(
        lambda w, n: run(key, params, env_params, (w, n)))(ids, streams))


def _parse_policy(policy: str) -> tuple[str, int]:
    name, _, stream = policy.partition("#")
    if name not in POLICIES or (stream and not (stream.isdigit() and int(stream) >= 1)):
        raise ValueError(f"policies must be among {POLICIES}, optionally with '#n' "
                         f"(n >= 1), got {policy!r}")
    return name, int(stream or 0)


def compare_with_baselines(trainer: Trainer, all_params, seeds, n_episodes: int,
                           key) -> dict:
    """:func:`~quantmarl.rl.compare.compare` of every policy in :data:`POLICIES` over the
    trained ``seeds`` (indices into the leading axis of ``all_params``): seed ``s`` plays
    its own ``n_episodes`` (keys from ``fold_in(key, s)``), the same for every policy."""
    run = make_comparison(trainer, n_episodes)
    per_seed = np.stack([np.asarray(run(jax.random.fold_in(key, s),
                                        jax.tree.map(lambda x, s=s: x[s], all_params)))
                         for s in seeds], axis=1)  # [P, S, E, T + 1, n]
    paths = dict(zip(POLICIES, per_seed, strict=True))
    columns = {g: [trainer.env.agents.index(a) for a in agents]
               for g, agents in group_agents(trainer.env).items() if g in trainer.learners}
    return compare(paths, columns)


def _episodes(trainer: Trainer, n_episodes: int, records: bool, env_params):
    """``run(key, params, env_params, which)``: ``which`` a policy name or function (static)
    or ``(index, stream)``, an int32 index into :data:`POLICIES` and the learners'
    action-draw stream (traced: every candidate action is computed, one is used; stream
    0 draws with the same keys as the static path)."""
    env = MarketEnv(dataclasses.replace(trainer.env.config, auto_reset=False))
    length = env.config.market.episode_length
    groups = group_agents(env)
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step_with_record, in_axes=(0, 0, 0, None))
    default_env_params = trainer.env_params if env_params is None else env_params
    mappo = trainer.config.algorithm == "mappo"
    specs = {g.name: g for g in env.config.groups}

    def choose(key, g_obs, params, memory, first, which):
        inputs = trainer.inputs(g_obs) if mappo else g_obs
        actions, memory = {}, dict(memory)
        for i, g in enumerate(groups):
            k = jax.random.fold_in(key, i)
            nvec = trainer.nvecs[g]
            if g in trainer.learners and callable(which):
                actions[g] = jnp.asarray(which(g, k, g_obs[g]), jnp.int32)
                continue
            if g in trainer.learners and isinstance(which, str) and which in baselines.BASELINES:
                actions[g] = _baseline(which, specs[g], k, g_obs[g], nvec)
                continue
            memory[g], logits, _ = trainer.step_fns[g](
                params[g], clear_memory(memory[g], first), inputs[g])
            if g not in trainer.learners:  # frozen opponents sample their policies
                actions[g] = act(k, logits, nvec, greedy=False)
            elif isinstance(which, str):
                actions[g] = act(k, logits, nvec, greedy=which == "greedy")
            else:
                index, stream = which
                kl = jax.random.wrap_key_data(jnp.where(
                    stream == 0, jax.random.key_data(k),
                    jax.random.key_data(jax.random.fold_in(k, stream))))
                every = [act(kl, logits, nvec, greedy=True), act(kl, logits, nvec, False)]
                every += [_baseline(b, specs[g], kl, g_obs[g], nvec)
                          for b in baselines.BASELINES]
                actions[g] = jnp.stack([a.astype(jnp.int32) for a in every])[index]
        return unstack_actions(env, actions), memory

    def run(key, params, env_params, which):
        env_params = default_env_params if env_params is None else env_params
        all_params = trainer.policy_params(params)
        reset_keys, step_keys = episode_keys(key, n_episodes, length)
        obs0, state = reset(reset_keys, env_params)

        def body(carry, k):
            state, obs, memory = carry
            k_act, env_keys = turn_keys(k, n_episodes)
            actions, memory = choose(k_act, stack_obs(env, obs), all_params, memory,
                                     episode_start(state), which)
            obs, state, *_, record = step(env_keys, state, actions, env_params)
            return (state, obs, memory), (state.wealth, record if records else None)

        init = (state, obs0, trainer.initial_carry(n_episodes))
        _, (path, recs) = jax.lax.scan(body, init, step_keys)
        wealth = jnp.swapaxes(jnp.concatenate([state.wealth[None], path], axis=0), 0, 1)
        if records:
            return wealth, jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), recs)
        return wealth

    return run


def _baseline(policy: str, group, key, obs, nvec) -> jax.Array:
    """int32 [..., count, len(nvec)] actions of a baseline ``policy`` for a learner group."""
    shape = (*obs.shape[:-1], len(nvec))
    if policy == "random":
        return jax.random.randint(key, shape, 0, jnp.asarray(nvec)).astype(jnp.int32)
    if policy == "hold":
        return baselines.hold_actions(group, obs.shape[:-1], len(nvec))
    return baselines.scripted_actions(group, obs, len(nvec))


def summarise(wealth, agents: tuple[str, ...]) -> dict:
    """Per agent: PnL (final wealth - 1, fraction of initial wealth), Sharpe (per episode:
    mean / std of per-step wealth returns x sqrt(T)), max drawdown (fraction) and win rate
    (share of episodes with PnL > 0): ``{"mean", "ci95": [lo, hi]}`` each, over episodes."""
    w = np.asarray(wealth, np.float64)  # [E, T+1, n]
    out = {}
    for i, agent in enumerate(agents):
        path = np.maximum(w[:, :, i], 1e-12)
        pnl = path[:, -1] - 1.0
        r = path[:, 1:] / path[:, :-1] - 1.0
        sd = r.std(axis=1, ddof=1) if r.shape[1] > 1 else np.zeros(r.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            sharpe = np.where(sd > 0, r.mean(axis=1) / sd * math.sqrt(r.shape[1]), np.nan)
        peak = np.maximum.accumulate(path, axis=1)
        mdd = (1.0 - path / peak).max(axis=1)
        wins = int((pnl > 0).sum())
        entry = {}
        for name, x in (("pnl", pnl), ("sharpe", sharpe), ("max_drawdown", mdd)):
            entry[name] = intervals.mean_record(x)
        m, lo, hi = intervals.wilson_interval(wins, pnl.shape[0])
        clean = intervals.finite_or_none
        entry["win_rate"] = {"mean": clean(m), "ci95": [clean(lo), clean(hi)]}
        entry["episodes"] = int(pnl.shape[0])
        out[agent] = entry
    return out


def learner_agents(trainer: Trainer) -> tuple[str, ...]:
    """Agent names of the learners (the first ``sum(counts)`` env agents)."""
    n = sum(trainer.counts[g] for g in trainer.learners)
    return trainer.env.agents[:n]

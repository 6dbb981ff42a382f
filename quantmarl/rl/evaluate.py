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
from quantmarl.rl.policy import act
from quantmarl.rl.rollout import (
    clear_memory,
    episode_start,
    group_agents,
    stack_obs,
    unstack_actions,
)
from quantmarl.rl.train import Trainer


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
    action component) or ``"random"`` (uniform actions for the learners; the
    opponents keep their policies).
    """
    if policy not in ("sample", "greedy", "random"):
        raise ValueError(f"policy must be 'sample', 'greedy' or 'random', got {policy!r}")
    env = MarketEnv(dataclasses.replace(trainer.env.config, auto_reset=False))
    length = env.config.market.episode_length
    groups = group_agents(env)
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step_with_record, in_axes=(0, 0, 0, None))
    default_env_params = trainer.env_params if env_params is None else env_params
    mappo = trainer.config.algorithm == "mappo"

    def choose(key, g_obs, params, memory, first):
        inputs = trainer.inputs(g_obs) if mappo else g_obs
        actions, memory = {}, dict(memory)
        for i, g in enumerate(groups):
            k = jax.random.fold_in(key, i)
            nvec = trainer.nvecs[g]
            if policy == "random" and g in trainer.learners:
                shape = (*g_obs[g].shape[:-1], len(nvec))
                actions[g] = jax.random.randint(k, shape, 0, jnp.asarray(nvec))
                continue
            memory[g], logits, _ = trainer.step_fns[g](
                params[g], clear_memory(memory[g], first), inputs[g])
            actions[g] = act(k, logits, nvec, greedy=policy == "greedy" and g in trainer.learners)
        return unstack_actions(env, actions), memory

    def run(key, params, env_params=None):
        env_params = default_env_params if env_params is None else env_params
        all_params = trainer.policy_params(params)
        reset_keys, step_keys = episode_keys(key, n_episodes, length)
        obs0, state = reset(reset_keys, env_params)

        def body(carry, k):
            state, obs, memory = carry
            k_act, env_keys = turn_keys(k, n_episodes)
            actions, memory = choose(k_act, stack_obs(env, obs), all_params, memory,
                                     episode_start(state))
            obs, state, *_, record = step(env_keys, state, actions,
                                          env_params)
            return (state, obs, memory), (state.wealth, record if records else None)

        init = (state, obs0, trainer.initial_carry(n_episodes))
        _, (path, recs) = jax.lax.scan(body, init, step_keys)
        wealth = jnp.swapaxes(jnp.concatenate([state.wealth[None], path], axis=0), 0, 1)
        if records:
            return wealth, jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), recs)
        return wealth

    return jax.jit(run)


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
            m, lo, hi = intervals.mean_t_interval(x)
            entry[name] = {"mean": _clean(m), "ci95": [_clean(lo), _clean(hi)]}
        m, lo, hi = intervals.wilson_interval(wins, pnl.shape[0])
        entry["win_rate"] = {"mean": _clean(m), "ci95": [_clean(lo), _clean(hi)]}
        entry["episodes"] = int(pnl.shape[0])
        out[agent] = entry
    return out


def _clean(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def learner_agents(trainer: Trainer) -> tuple[str, ...]:
    """Agent names of the learners (the first ``sum(counts)`` env agents)."""
    n = sum(trainer.counts[g] for g in trainer.learners)
    return trainer.env.agents[:n]

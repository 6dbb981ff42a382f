"""The *control* arm of the paired design: the treatment market with its learner
slots run by rule-based agents, evaluated on the same random numbers.

Pairing. The control is evaluated with the treatment's evaluation keys and the
env's own key scheme (:mod:`quantmarl.env.keys`, the splits that
:func:`quantmarl.rl.evaluate.make_episodes` and the env make), so both markets
see the same fundamental path and background-flow draws in every episode
(common random numbers): a paired test across seeds compares like with like.

Shapes: ``S`` seeds, ``E`` episodes per seed, ``T`` steps; records are the
market's :class:`~quantmarl.market.StepRecord` with leading ``[S, E, T]``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from experiments.compiling import jit
from quantmarl.agents.reactive import DEFAULT_DISTRIBUTIONS, BehaviourDistribution
from quantmarl.env.keys import episode_keys, step_keys, turn_keys
from quantmarl.market import MarketConfig, MarketParams, StepRecord, hold, reset, step
from quantmarl.rl import Trainer

__all__ = ["SLOT_BEHAVIOUR", "ControlMarket", "block_rows", "control_market",
           "control_params", "evaluate_control"]

#: rule-based behaviour standing in for each learner type in the control market
SLOT_BEHAVIOUR = {"market_maker": "market_maker", "momentum_trader": "momentum",
                  "arbitrageur": "arbitrage", "trader": "noise"}


@dataclass(frozen=True)
class ControlMarket:
    """The treatment market with its learner slots replaced by rule-based agents.

    ``config``: no smart tier; each learner group's count is added to the reactive
    block of :data:`SLOT_BEHAVIOUR` (appended when absent). ``slot_rows``: the
    accounts standing in for the learners (the first agents of those blocks), in
    learner order; ``slot_assets``: the asset each is pinned to (its group's).
    """

    config: MarketConfig
    slot_rows: tuple[int, ...]
    slot_assets: tuple[int, ...]


def control_market(trainer: Trainer) -> ControlMarket:
    """The control counterpart of ``trainer``'s market (see :class:`ControlMarket`)."""
    treat = trainer.env.config.market
    reactive = [list(b) for b in treat.reactive]
    extra: list[tuple[str, int, int]] = []  # (behaviour, count, asset)
    for g in trainer.env.config.groups:
        name = SLOT_BEHAVIOUR.get(g.name, "noise")
        extra.append((name, g.count, g.asset))
        names = [b[0] for b in reactive]
        if name in names:
            reactive[names.index(name)][1] += g.count
        else:
            reactive.append([name, g.count])
    config = dataclasses.replace(treat, n_smart=0, reactive=tuple((n, c) for n, c in reactive))
    rows: list[int] = []
    assets: list[int] = []
    used: dict[str, int] = {}
    for name, count, asset in extra:
        start = int(block_rows(config, name)[0]) + used.get(name, 0)
        used[name] = used.get(name, 0) + count
        rows += range(start, start + count)
        assets += [asset] * count
    return ControlMarket(config, tuple(rows), tuple(assets))


def control_params(control: ControlMarket, params: MarketParams) -> MarketParams:
    """Treatment market ``params`` for the control config: the treatment's behaviour
    distributions, plus the defaults for appended blocks."""
    extra = tuple(DEFAULT_DISTRIBUTIONS.get(name, BehaviourDistribution())
                  for name, _ in control.config.reactive[len(params.behaviours):])
    return params.replace(behaviours=tuple(params.behaviours) + extra)


def block_rows(config: MarketConfig, name: str) -> np.ndarray:
    """Account rows (int [count]) of the reactive block ``name`` (smart slots come first)."""
    start = config.n_smart
    for n, count in config.reactive:
        if n == name:
            return np.arange(start, start + count)
        start += count
    return np.arange(0)


def _pin(state, config: MarketConfig, rows: tuple[int, ...], assets: tuple[int, ...]):
    """Pin the reactive agents at account ``rows`` to trade ``assets``."""
    blocks, start = [], config.n_smart
    for block, (_, count) in zip(state.agents, config.reactive, strict=True):
        idx = [(r - start, a) for r, a in zip(rows, assets, strict=True)
               if start <= r < start + count]
        asset = block.params.asset
        if idx:
            pos, val = (np.array(v) for v in zip(*idx, strict=True))
            asset = asset.at[pos].set(val.astype(np.int32))
        blocks.append(block.replace(params=block.params.replace(asset=asset)))
        start += count
    return state.replace(agents=tuple(blocks))


@functools.lru_cache(maxsize=8)
def _control_fn(control: ControlMarket, n_episodes: int):
    """Compiled ``(keys [S], params) -> records [S, E, T, ...]`` (cached per market)."""
    cfg = control.config
    actions = hold(0)

    def episode_reset(key, params):
        return _pin(reset(key, cfg, params), cfg, control.slot_rows, control.slot_assets)

    def env_step(key, state, params):
        k_step, _ = step_keys(key)
        return step(k_step, state, actions, cfg, params)

    def run(key, params):
        k_resets, k_steps = episode_keys(key, n_episodes, cfg.episode_length)
        states = jax.vmap(episode_reset, in_axes=(0, None))(k_resets, params)

        def body(states, k):
            _, k_envs = turn_keys(k, n_episodes)
            return jax.vmap(env_step, in_axes=(0, 0, None))(k_envs, states, params)

        _, recs = jax.lax.scan(body, states, k_steps)
        return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), recs)  # [E, T, ...]

    return jit(jax.vmap(run, in_axes=(0, None)))


def evaluate_control(control: ControlMarket, keys: jax.Array, market_params: MarketParams,
                     n_episodes: int) -> StepRecord:
    """The control market for all seeds in one compiled call: records [S, E, T, ...].

    ``market_params``: the treatment's (converted with :func:`control_params`).
    Each episode draws the same market random numbers as its treatment twin.
    """
    return _control_fn(control, n_episodes)(keys, control_params(control, market_params))

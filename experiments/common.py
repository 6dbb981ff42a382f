"""Simulation glue shared by the experiments: train PPO learners for all seeds in one
vmapped call, replay the frozen policies under stress schedules, and run the
*control* market in which the same slots follow rule-based behaviour.

Pairing. Every seed key is split once into a training key and an evaluation key.
The treatment (learners) and the control (rule-based slots) are evaluated with
the *same* evaluation key and the control replays the environment's key scheme,
so both markets see the same fundamental shocks and background-flow draws per
step (common random numbers): a paired test across seeds compares like with like.

Shapes. ``C`` conditions (stacked market params), ``S`` seeds, ``E`` evaluation
episodes per seed, ``T`` steps, ``A`` assets, ``N`` accounts. Records are the
market's :class:`~quantmarl.market.StepRecord` with leading ``[C, S, E, T]``;
prices stay int64 ticks there, float conversion happens in :func:`mid_prices`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from experiments.config import check_range
from quantmarl.agents.reactive import DEFAULT_DISTRIBUTIONS, BehaviourDistribution
from quantmarl.events import breaker_rules, make_schedule
from quantmarl.market import (
    MarketConfig,
    MarketParams,
    StepRecord,
    hold,
    reset,
    step,
    validate_params,
)
from quantmarl.rl import TrainConfig, Trainer, TrainOutput
from quantmarl.rl.evaluate import make_episodes

__all__ = [
    "SLOT_BEHAVIOUR",
    "ControlMarket",
    "PPOSettings",
    "block_rows",
    "control_params",
    "control_market",
    "evaluate_control",
    "evaluate_rl",
    "log_returns",
    "mid_prices",
    "nanmean_or_nan",
    "split_keys",
    "stack_params",
    "stressed",
    "train_config",
    "train_seeds",
]

#: rule-based behaviour standing in for each learner type in the control market
SLOT_BEHAVIOUR = {"market_maker": "market_maker", "momentum_trader": "momentum",
                  "arbitrageur": "arbitrage", "trader": "noise"}


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class PPOSettings:
    """PPO hyper-parameters for the learners (see :class:`quantmarl.rl.TrainConfig`)."""

    n_envs: int = 16  # parallel training environments per seed
    n_steps: int = 32  # rollout length per update, steps
    iterations: int = 40  # PPO updates
    update_epochs: int = 2
    n_minibatches: int = 2
    lr: float = 3e-4
    ent_coef: float = 0.01
    hidden: tuple[int, ...] = (32, 32)

    def __post_init__(self) -> None:
        check_range("ppo.n_envs", self.n_envs, 1, 4096)
        check_range("ppo.n_steps", self.n_steps, 1, 4096)
        check_range("ppo.iterations", self.iterations, 1, 100_000)
        check_range("ppo.update_epochs", self.update_epochs, 1, 100)
        check_range("ppo.n_minibatches", self.n_minibatches, 1, 4096)
        if (self.n_envs * self.n_steps) % self.n_minibatches:
            raise ValueError(f"ppo.n_minibatches must divide ppo.n_envs * ppo.n_steps = "
                             f"{self.n_envs * self.n_steps}, got {self.n_minibatches}")
        check_range("ppo.lr", self.lr, 0.0, 1.0, lo_open=True)
        check_range("ppo.ent_coef", self.ent_coef, 0.0, 10.0)
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"ppo.hidden must be a non-empty list of ints >= 1, "
                             f"got {list(self.hidden)}")


def train_config(ppo: PPOSettings, agent_type: str, agents_per_type: int, *, clearing: str,
                 n_assets: int, episode_length: int, background_orders: int,
                 reactive: Sequence[tuple[str, int]]) -> TrainConfig:
    """The :class:`TrainConfig` of one learner group (``agent_type``) in the given market."""
    return TrainConfig(
        agent_types=(agent_type,), agents_per_type=agents_per_type, clearing=clearing,
        n_assets=n_assets, episode_length=episode_length, background_orders=background_orders,
        reactive=tuple((str(n), int(c)) for n, c in reactive), n_envs=ppo.n_envs,
        n_steps=ppo.n_steps, iterations=ppo.iterations, update_epochs=ppo.update_epochs,
        n_minibatches=ppo.n_minibatches, lr=ppo.lr, ent_coef=ppo.ent_coef,
        hidden=tuple(ppo.hidden))


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Seed keys [S] -> (training keys [S], evaluation keys [S])."""
    both = jax.vmap(jax.random.split)(keys)
    return both[:, 0], both[:, 1]


# ----------------------------------------------------------------------------- training


def train_seeds(trainer: Trainer, keys: jax.Array) -> TrainOutput:
    """Train every seed in one compiled call: ``jit(vmap(trainer.train))(keys)``.

    Returns the :class:`TrainOutput` with a leading [S] axis on every leaf
    (``out.runner.params`` are the S trained policies, ``out.metrics`` the curves).
    """
    return jax.jit(jax.vmap(trainer.train))(keys)


# ----------------------------------------------------------------------------- params


def stressed(params: MarketParams, config: MarketConfig, events: Sequence = (),
             breaker: dict | None = None) -> MarketParams:
    """``params`` with the schedule ``events`` and, if ``breaker`` (kwargs of
    :func:`~quantmarl.events.breaker_rules`) is given, an enabled circuit breaker
    (else a disabled one)."""
    rules = (breaker_rules(**breaker, history_len=config.history) if breaker is not None
             else breaker_rules(enabled=False, history_len=config.history))
    out = params.replace(
        schedule=make_schedule(list(events), capacity=config.max_events,
                               n_assets=config.n_assets),
        breaker=rules)
    return validate_params(config, out)


def stack_params(params: Sequence) -> object:
    """Stack pytrees of equal structure along a new leading [C] (condition) axis."""
    return jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *params)


# ----------------------------------------------------------------------------- treatment


def evaluate_rl(trainer: Trainer, policy_params, keys: jax.Array, market_params,
                n_episodes: int) -> tuple[jax.Array, StepRecord]:
    """Frozen trained policies in fresh episodes, every condition and seed in one call.

    ``policy_params``: ``out.runner.params`` with leading [S]; ``keys`` [S];
    ``market_params``: :class:`MarketParams` with a leading [C] axis (see
    :func:`stack_params`), replacing the trainer's market params (reward and
    bankruptcy settings are kept). Returns ``(wealth float32 [C, S, E, T + 1,
    n_learners], records [C, S, E, T, ...])``; policies sample their actions.
    """
    base = trainer.env_params

    def one(key, params, mparams):
        run = make_episodes(trainer, n_episodes, "sample", records=True,
                            env_params=base.replace(market=mparams))
        return run(key, params)

    per_seed = jax.vmap(one, in_axes=(0, 0, None))
    return jax.jit(jax.vmap(per_seed, in_axes=(None, None, 0)))(keys, policy_params,
                                                                market_params)


# ----------------------------------------------------------------------------- control


@dataclass(frozen=True)
class ControlMarket:
    """The treatment market with its learner slots replaced by rule-based agents.

    ``config``: no smart tier; each learner group's count added to the reactive
    block of :data:`SLOT_BEHAVIOUR` (appended when absent). ``slot_rows``: the
    accounts standing in for the learners (first agents of those blocks), in
    learner order; ``slot_assets``: the asset each slot is pinned to (the group's).
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
        name = SLOT_BEHAVIOUR[g.name if g.name in SLOT_BEHAVIOUR else "trader"]
        extra.append((name, g.count, g.asset))
        names = [b[0] for b in reactive]
        if name in names:
            reactive[names.index(name)][1] += g.count
        else:
            reactive.append([name, g.count])
    config = dataclasses.replace(treat, n_smart=0, reactive=tuple((n, c) for n, c in reactive))
    rows, assets, used = [], [], {}
    for name, count, asset in extra:
        start = block_rows(config, name)[0] + used.get(name, 0)
        used[name] = used.get(name, 0) + count
        rows += list(range(start, start + count))
        assets += [asset] * count
    return ControlMarket(config, tuple(rows), tuple(assets))


def control_params(control: ControlMarket, params: MarketParams) -> MarketParams:
    """Treatment market ``params`` (optionally with a leading [C] axis) for the control
    config: the treatment's behaviour distributions, plus defaults for appended blocks."""
    n_treat = len(params.behaviours)
    lead = np.shape(params.initial_price)[:-1]  # () or (C,)
    extra = tuple(
        jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), lead),
                     DEFAULT_DISTRIBUTIONS.get(name, BehaviourDistribution()))
        for name, _ in control.config.reactive[n_treat:])
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
    """Pin the reactive agents at account ``rows`` to trade ``assets`` (the slots' assets)."""
    blocks, start = [], config.n_smart
    for block, (_, count) in zip(state.agents, config.reactive, strict=True):
        asset = block.params.asset
        for r, a in zip(rows, assets, strict=True):
            if start <= r < start + count:
                asset = asset.at[r - start].set(a)
        blocks.append(block.replace(params=block.params.replace(asset=asset)))
        start += count
    return state.replace(agents=tuple(blocks))


def evaluate_control(control: ControlMarket, keys: jax.Array, market_params,
                     n_episodes: int) -> StepRecord:
    """The control market for every condition and seed in one call: records [C, S, E, T, ...].

    ``market_params``: treatment :class:`MarketParams` with a leading [C] axis
    (converted with :func:`control_params`). The key scheme mirrors
    :func:`quantmarl.rl.evaluate.make_episodes` (reset key per episode, then per
    step ``k -> (k_act, k_env) -> k_env split per episode -> (k_step, k_reset)``),
    so each episode draws the same market random numbers as its treatment twin.
    """
    cfg = control.config
    length = cfg.episode_length
    actions = hold(0)

    def one_episode_reset(key, params):
        return _pin(reset(key, cfg, params), cfg, control.slot_rows, control.slot_assets)

    def one_step(key, state, params):
        k_step, _ = jax.random.split(key)
        return step(k_step, state, actions, cfg, params)

    def run(key, params):
        k_reset, k_run = jax.random.split(key)
        states = jax.vmap(one_episode_reset, in_axes=(0, None))(
            jax.random.split(k_reset, n_episodes), params)

        def body(states, k):
            _, k_env = jax.random.split(k)
            return jax.vmap(one_step, in_axes=(0, 0, None))(
                jax.random.split(k_env, n_episodes), states, params)

        _, recs = jax.lax.scan(body, states, jax.random.split(k_run, length))
        return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), recs)  # [E, T, ...]

    per_seed = jax.vmap(run, in_axes=(0, None))
    fn = jax.jit(jax.vmap(per_seed, in_axes=(None, 0)))
    return fn(keys, control_params(control, market_params))


# ----------------------------------------------------------------------------- metrics helpers


def mid_prices(records: StepRecord) -> np.ndarray:
    """float64 [..., T, A] ticks: the mid where both sides are quoted, else the close."""
    bid = np.asarray(records.best_bid, np.float64)
    ask = np.asarray(records.best_ask, np.float64)
    close = np.asarray(records.close, np.float64)
    return np.where((bid > 0) & (ask > 0), 0.5 * (bid + ask), close)


def log_returns(prices: np.ndarray) -> np.ndarray:
    """float64 [..., T - 1, A]: log price changes along the time axis (-2)."""
    return np.diff(np.log(np.maximum(prices, 1e-12)), axis=-2)


def nanmean_or_nan(x: np.ndarray, axis=None) -> np.ndarray:
    """``np.nanmean`` that returns NaN (no warning) where every value is NaN."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    n = ok.sum(axis=axis)
    s = np.where(ok, x, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)

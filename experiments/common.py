"""Simulation glue shared by the experiments: train PPO learners for all seeds in one
vmapped call, replay the frozen policies under a stress schedule, and run the
*control* market in which the same slots follow rule-based behaviour.

Pairing. Every seed key is split into a training key and an evaluation key.
The treatment (learners) and the control (rule-based slots) are evaluated with
the *same* evaluation key, and the control replays the environment's key
scheme, so both markets see the same fundamental path and background-flow
draws in every episode (common random numbers): a paired test across seeds
compares like with like.

Shapes. ``S`` seeds, ``E`` evaluation episodes per seed, ``T`` steps, ``A``
assets, ``N`` accounts. Records are the market's
:class:`~quantmarl.market.StepRecord` with leading ``[S, E, T]``; prices stay
int64 ticks there and become floats only in the metric helpers below.

Compiled functions are cached per (hashable) config, so running an experiment
twice in one process (a notebook, the reproducibility test) compiles once, and
each stress condition reuses the same compiled evaluation (params are traced).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from experiments.compare import Finding, paired_comparison, verdict
from experiments.config import check_range
from experiments.runner import seed_keys
from quantmarl.agents.reactive import DEFAULT_DISTRIBUTIONS, BehaviourDistribution
from quantmarl.events import (
    breaker_rules,
    flash_crash,
    flash_rally,
    liquidity_shock,
    make_schedule,
    volatility_spike,
)
from quantmarl.market import (
    MarketConfig,
    MarketParams,
    StepRecord,
    hold,
    reset,
    step,
    validate_params,
)
from quantmarl.rl import TrainConfig, Trainer, TrainOutput, make_trainer
from quantmarl.rl.evaluate import make_episodes

__all__ = [
    "COMPILER_OPTIONS",
    "EVENTS",
    "SLOT_BEHAVIOUR",
    "ControlMarket",
    "MarketSettings",
    "PPOSettings",
    "block_rows",
    "control_market",
    "evaluate_control",
    "evaluate_rl",
    "log_returns",
    "make_seed_trainer",
    "mid_prices",
    "nanmean",
    "paired_finding",
    "split_keys",
    "stressed",
    "train_all_seeds",
    "train_config",
    "train_seeds",
]

#: XLA options on CPU: LLVM optimisation level 1 halves compile time against the
#: default (measured on 2 CPU cores: 42 s -> 20 s for a training program) at the same
#: run speed. Compile time dominates the quick runs.
COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}

#: rule-based behaviour standing in for each learner type in the control market
SLOT_BEHAVIOUR = {"market_maker": "market_maker", "momentum_trader": "momentum",
                  "arbitrageur": "arbitrage", "trader": "noise"}


# ----------------------------------------------------------------------------- config parts


@dataclass(frozen=True)
class PPOSettings:
    """PPO hyper-parameters of the learners (see :class:`quantmarl.rl.TrainConfig`)."""

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


@dataclass(frozen=True)
class MarketSettings:
    """The simulated market (see :class:`quantmarl.market.MarketConfig`)."""

    n_assets: int = 1
    clearing: Literal["auction", "cda"] = "auction"
    episode_length: int = 200  # steps per episode (training and evaluation)
    background_orders: int = 32  # background orders per step per asset
    reactive: tuple[tuple[str, int], ...] = (
        ("market_maker", 4), ("fundamental", 16), ("momentum", 8), ("mean_reversion", 8),
        ("noise", 24))

    def __post_init__(self) -> None:
        check_range("market.n_assets", self.n_assets, 1, 64)
        check_range("market.episode_length", self.episode_length, 10, 100_000)
        check_range("market.background_orders", self.background_orders, 0, 100_000)
        try:
            MarketConfig(n_assets=self.n_assets, reactive=tuple(self.reactive))
        except ValueError as err:
            raise ValueError(f"market.reactive: {err}") from None


def train_config(ppo: PPOSettings, market: MarketSettings, agent_type: str,
                 agents_per_type: int) -> TrainConfig:
    """The :class:`TrainConfig` of one learner group (``agent_type``) in ``market``."""
    return TrainConfig(
        agent_types=(agent_type,), agents_per_type=agents_per_type, clearing=market.clearing,
        n_assets=market.n_assets, episode_length=market.episode_length,
        background_orders=market.background_orders,
        reactive=tuple((str(n), int(c)) for n, c in market.reactive), n_envs=ppo.n_envs,
        n_steps=ppo.n_steps, iterations=ppo.iterations, update_epochs=ppo.update_epochs,
        n_minibatches=ppo.n_minibatches, lr=ppo.lr, ent_coef=ppo.ent_coef,
        hidden=tuple(ppo.hidden))


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Seed keys [S] -> (training keys [S], evaluation keys [S])."""
    both = jax.vmap(jax.random.split)(keys)
    return both[:, 0], both[:, 1]


#: event constructors by name: ``(magnitude, duration, start, asset=-1) -> Event``
EVENTS = {"flash_crash": flash_crash, "flash_rally": flash_rally,
          "volatility_spike": volatility_spike, "liquidity_shock": liquidity_shock}


def stressed(params: MarketParams, config: MarketConfig, events: Sequence = (),
             breaker: dict | None = None) -> MarketParams:
    """``params`` with the schedule ``events`` and, if ``breaker`` (keyword arguments
    of :func:`~quantmarl.events.breaker_rules`) is given, an enabled circuit breaker
    (else a disabled one). Validated against ``config``."""
    rules = (breaker_rules(**breaker, history_len=config.history) if breaker is not None
             else breaker_rules(enabled=False, history_len=config.history))
    out = params.replace(
        schedule=make_schedule(list(events), capacity=config.max_events,
                               n_assets=config.n_assets),
        breaker=rules)
    return validate_params(config, out)


# ----------------------------------------------------------------------------- compiling


def _jit(fn):
    """``jax.jit`` with :data:`COMPILER_OPTIONS` on CPU."""
    opts = COMPILER_OPTIONS if jax.default_backend() == "cpu" else None
    return jax.jit(fn, compiler_options=opts)


def _cached(owner, name: str, build):
    """``build()`` once per ``(owner, name)``, kept on ``owner`` (compiled-function cache)."""
    cache = owner.__dict__.setdefault("_experiment_fns", {})
    if name not in cache:
        cache[name] = build()
    return cache[name]


# ----------------------------------------------------------------------------- treatment


@functools.lru_cache(maxsize=8)
def make_seed_trainer(config: TrainConfig) -> Trainer:
    """The :class:`Trainer` of ``config``, cached so that its compiled functions are reused."""
    return make_trainer(config)


def train_seeds(trainer: Trainer, keys: jax.Array) -> TrainOutput:
    """Train every seed in one compiled call: ``trainer.train`` vmapped over ``keys`` [S].

    Returns the :class:`TrainOutput` with a leading [S] axis on every leaf
    (``out.runner.params``: the S trained policies; ``out.metrics``: the curves).
    """
    train = _cached(trainer, "train", lambda: _jit(jax.vmap(trainer.train)))
    return train(keys)


def train_all_seeds(config: TrainConfig, seed: int, n_seeds: int
                    ) -> tuple[Trainer, TrainOutput, jax.Array]:
    """Train ``n_seeds`` learner populations of ``config`` (keys from base ``seed``) in one
    compiled call; returns ``(trainer, output, evaluation keys [S])`` (see :func:`split_keys`).
    """
    trainer = make_seed_trainer(config)
    k_train, k_eval = split_keys(seed_keys(seed, n_seeds))
    out = jax.block_until_ready(train_seeds(trainer, k_train))
    return trainer, out, k_eval


def evaluate_rl(trainer: Trainer, policy_params, keys: jax.Array, market_params: MarketParams,
                n_episodes: int) -> tuple[jax.Array, StepRecord]:
    """The frozen trained policies in fresh episodes, all seeds in one compiled call.

    ``policy_params``: ``out.runner.params`` (leading [S]); ``keys`` [S];
    ``market_params`` replace the trainer's (e.g. a stress schedule; traced, so
    every condition reuses one compile). Policies sample their actions. Returns
    ``(wealth float32 [S, E, T + 1, n_learners] (fraction of initial), records [S, E, T, ...])``.
    """
    def build():
        base = trainer.env_params
        run = make_episodes(trainer, n_episodes, "sample", records=True)

        def one(key, params, mparams):
            return run(key, params, base.replace(market=mparams))

        return _jit(jax.vmap(one, in_axes=(0, 0, None)))

    return _cached(trainer, f"eval{n_episodes}", build)(keys, policy_params, market_params)


# ----------------------------------------------------------------------------- control


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

    def env_step(key, state, params):  # the env's step: (k_step, k_reset) = split(key)
        k_step, _ = jax.random.split(key)
        return step(k_step, state, actions, cfg, params)

    def run(key, params):
        k_reset, k_run = jax.random.split(key)
        states = jax.vmap(episode_reset, in_axes=(0, None))(
            jax.random.split(k_reset, n_episodes), params)

        def body(states, k):
            _, k_env = jax.random.split(k)  # (k_act, k_env) as in make_episodes
            return jax.vmap(env_step, in_axes=(0, 0, None))(
                jax.random.split(k_env, n_episodes), states, params)

        _, recs = jax.lax.scan(body, states, jax.random.split(k_run, cfg.episode_length))
        return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), recs)  # [E, T, ...]

    return _jit(jax.vmap(run, in_axes=(0, None)))


def evaluate_control(control: ControlMarket, keys: jax.Array, market_params: MarketParams,
                     n_episodes: int) -> StepRecord:
    """The control market for all seeds in one compiled call: records [S, E, T, ...].

    ``market_params``: the treatment's (converted with :func:`control_params`).
    The key scheme mirrors :func:`quantmarl.rl.evaluate.make_episodes`, so each
    episode draws the same market random numbers as its treatment twin.
    """
    return _control_fn(control, n_episodes)(keys, control_params(control, market_params))


# ----------------------------------------------------------------------------- metrics helpers


def mid_prices(records: StepRecord) -> np.ndarray:
    """float64 [..., T, A] ticks: the mid where both sides are quoted, else the close."""
    bid = np.asarray(records.best_bid, np.float64)
    ask = np.asarray(records.best_ask, np.float64)
    close = np.asarray(records.close, np.float64)
    return np.where((bid > 0) & (ask > 0), 0.5 * (bid + ask), close)


def log_returns(prices: np.ndarray, axis: int = -2) -> np.ndarray:
    """float64 log price changes along ``axis`` (time; default -2 for [..., T, A])."""
    return np.diff(np.log(np.maximum(np.asarray(prices, np.float64), 1e-12)), axis=axis)


def nanmean(x, axis=None) -> np.ndarray:
    """Mean of the finite values along ``axis``; NaN (no warning) where there are none."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    n = ok.sum(axis=axis)
    s = np.where(ok, x, 0.0).sum(axis=axis)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def paired_finding(a, b, hypothesis: str, metric: str, alternative: str = "two-sided",
                   alpha: float = 0.05) -> Finding:
    """:func:`~experiments.compare.paired_comparison` (Wilcoxon, bootstrap CI) on the
    seeds where both ``a`` [S] and ``b`` [S] are finite; dropped seeds are named in
    ``note`` and excluded from ``n_seeds``. Fewer than 2 usable seeds: a finding with
    effect 0, CI [0, 0], p = 1 and a note saying the test could not be run."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    dropped = np.flatnonzero(~ok).tolist()
    note = (f"dropped {len(dropped)} seed(s) with a non-finite metric: {dropped}"
            if dropped else "")
    if ok.sum() < 2:
        return Finding(hypothesis=hypothesis, metric=metric, effect_size=0.0, ci_low=0.0,
                       ci_high=0.0, p_value=1.0, test="not run (fewer than 2 usable seeds)",
                       n_seeds=int(ok.sum()), alpha=alpha, verdict=verdict(1.0, alpha),
                       alternative=alternative, note=note or "fewer than 2 seeds")
    f = paired_comparison(a[ok], b[ok], hypothesis, metric, alternative=alternative,
                          alpha=alpha)
    return dataclasses.replace(f, note="; ".join(n for n in (f.note, note) if n))

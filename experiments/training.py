"""Training phase of the experiments: PPO learners for all seeds in one vmapped,
compiled call.

Pairing. Every seed key is split into a training key and an evaluation key
(:func:`split_keys`); every arm is evaluated with the same evaluation key (see
:mod:`experiments.evaluation`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax

from experiments import settings
from experiments.compiling import cached, jit
from experiments.runner import seed_keys
from quantmarl.rl import TrainConfig, Trainer, TrainOutput, make_trainer
from quantmarl.rl.train import build_env, build_env_params

__all__ = ["Trained", "make_seed_trainer", "split_keys", "train_all_seeds", "train_learners",
           "train_seeds"]


@dataclass(frozen=True)
class Trained:
    """The learners of every seed after training: the trainer (its env params are the
    experiment's market params), its output (leading [S]) and the evaluation keys [S]."""

    trainer: Trainer
    out: TrainOutput
    k_eval: jax.Array


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Seed keys [S] -> (training keys [S], evaluation keys [S])."""
    both = jax.vmap(jax.random.split)(keys)
    return both[:, 0], both[:, 1]


@functools.lru_cache(maxsize=8)
def make_seed_trainer(config: TrainConfig,
                      market_params: settings.MarketParamsOverrides = ()) -> Trainer:
    """The :class:`Trainer` of ``config`` with ``market_params`` set over its market's
    default params, cached so that its compiled functions are reused."""
    if not market_params:
        return make_trainer(config)
    env = build_env(config)
    env_params = build_env_params(config, env)
    market = settings.market_overrides(env_params.market, market_params, env.config.market)
    return make_trainer(config, env_params=env_params.replace(market=market))


def train_seeds(trainer: Trainer, keys: jax.Array) -> TrainOutput:
    """Train every seed in one compiled call: ``trainer.train`` vmapped over ``keys`` [S].

    Returns the :class:`TrainOutput` with a leading [S] axis on every leaf
    (``out.runner.params``: the S trained policies; ``out.metrics``: the curves).
    """
    train = cached(trainer, "train", lambda: jit(jax.vmap(trainer.train)))
    return train(keys)


def train_all_seeds(config: TrainConfig, seed: int, n_seeds: int,
                    market_params: settings.MarketParamsOverrides = ()
                    ) -> tuple[Trainer, TrainOutput, jax.Array]:
    """Train ``n_seeds`` learner populations of ``config`` (keys from base ``seed``) in one
    compiled call; returns ``(trainer, output, evaluation keys [S])`` (see :func:`split_keys`).
    """
    trainer = make_seed_trainer(config, tuple(market_params))
    k_train, k_eval = split_keys(seed_keys(seed, n_seeds))
    out = jax.block_until_ready(train_seeds(trainer, k_train))
    return trainer, out, k_eval


def train_learners(config: Any, agent_type: str) -> Trained:
    """Train an experiment's learners: ``config`` has ``ppo``, ``market``, ``learners``,
    ``seed``, ``seeds`` and ``market_params`` (the learners are ``agent_type``)."""
    tc = settings.train_config(config.ppo, config.market, agent_type, config.learners)
    return Trained(*train_all_seeds(tc, config.seed, config.seeds, config.market_params))

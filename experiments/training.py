"""Training phase of the experiments: PPO learners for all seeds in one vmapped,
compiled call.

Pairing. Every seed key is split into a training key and an evaluation key
(:func:`split_keys`); every arm is evaluated with the same evaluation key (see
:mod:`experiments.evaluation`).
"""

from __future__ import annotations

import functools

import jax

from experiments.compiling import cached, jit
from experiments.runner import seed_keys
from quantmarl.rl import TrainConfig, Trainer, TrainOutput, make_trainer

__all__ = ["make_seed_trainer", "split_keys", "train_all_seeds", "train_seeds"]


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Seed keys [S] -> (training keys [S], evaluation keys [S])."""
    both = jax.vmap(jax.random.split)(keys)
    return both[:, 0], both[:, 1]


@functools.lru_cache(maxsize=8)
def make_seed_trainer(config: TrainConfig) -> Trainer:
    """The :class:`Trainer` of ``config``, cached so that its compiled functions are reused."""
    return make_trainer(config)


def train_seeds(trainer: Trainer, keys: jax.Array) -> TrainOutput:
    """Train every seed in one compiled call: ``trainer.train`` vmapped over ``keys`` [S].

    Returns the :class:`TrainOutput` with a leading [S] axis on every leaf
    (``out.runner.params``: the S trained policies; ``out.metrics``: the curves).
    """
    train = cached(trainer, "train", lambda: jit(jax.vmap(trainer.train)))
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

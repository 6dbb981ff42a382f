"""Reinforcement learning: Flax actor-critic networks, PPO (IPPO/MAPPO) trained end to end
under ``jit``, checkpoints and evaluation.

``make_train(TrainConfig(...))`` returns a jittable ``train(key)``; vmap it over keys to
train many seeds at once. See :mod:`quantmarl.rl.train`.
"""

from quantmarl.rl import distributions
from quantmarl.rl.config import AGENT_TYPES, PRESETS, TrainConfig
from quantmarl.rl.distributions import entropy, log_prob, sample, split_logits
from quantmarl.rl.networks import ActorCritic, CentralisedCritic
from quantmarl.rl.policy import Opponent
from quantmarl.rl.ppo import explained_variance, gae, loss_fn, ppo_loss
from quantmarl.rl.train import (
    RunnerState,
    Trainer,
    TrainOutput,
    make_train,
    make_trainer,
    seed_keys,
)

__all__ = [
    "AGENT_TYPES",
    "ActorCritic",
    "CentralisedCritic",
    "Opponent",
    "PRESETS",
    "RunnerState",
    "TrainConfig",
    "TrainOutput",
    "Trainer",
    "distributions",
    "entropy",
    "explained_variance",
    "gae",
    "log_prob",
    "loss_fn",
    "make_train",
    "make_trainer",
    "ppo_loss",
    "sample",
    "seed_keys",
    "split_logits",
]

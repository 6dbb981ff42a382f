"""Reinforcement learning: Flax actor-critic networks, action distributions and PPO losses."""

from quantmarl.rl import distributions
from quantmarl.rl.distributions import entropy, log_prob, sample, split_logits
from quantmarl.rl.networks import ActorCritic, CentralisedCritic
from quantmarl.rl.ppo import explained_variance, gae, loss_fn, ppo_loss

__all__ = [
    "ActorCritic",
    "CentralisedCritic",
    "distributions",
    "entropy",
    "explained_variance",
    "gae",
    "log_prob",
    "loss_fn",
    "ppo_loss",
    "sample",
    "split_logits",
]

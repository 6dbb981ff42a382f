"""Policies acting in the market: the learners' network, frozen opponents and action choice.

``build_network(config, nvec, actor_inputs)`` is the network of a
:class:`~quantmarl.rl.config.TrainConfig`; ``per_learner(step, shared)`` runs a
policy step for a group whose learners share params or each have their own;
:class:`Opponent` is a frozen policy group (loaded from a checkpoint by
:func:`quantmarl.rl.checkpoint.load_opponents`); ``act(key, logits, nvec, greedy)``
turns logits into actions; :class:`FrozenPolicy` runs an opponent's policy on
observations from outside a training loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from quantmarl.rl import distributions
from quantmarl.rl.config import TrainConfig
from quantmarl.rl.networks import ActorCritic, RecurrentActorCritic, carry_size, policy_step
from quantmarl.rl.normalize import normalizing


@dataclasses.dataclass(frozen=True)
class Opponent:
    """A frozen policy group acting in the market (loaded from a checkpoint)."""

    group: Any  # AgentGroup (its name is made unique in the env)
    network: ActorCritic | RecurrentActorCritic
    params: Any  # network params (leading [count] axis when not shared)
    shared: bool  # one params set for the whole group (else one per learner)


def build_network(config: TrainConfig, nvec: tuple[int, ...],
                  actor_inputs: int | None) -> ActorCritic | RecurrentActorCritic:
    """The learners' network of ``config`` (:class:`ActorCritic` or, for ``network="gru"``,
    :class:`RecurrentActorCritic`); ``actor_inputs``: the actor's share of the inputs
    (MAPPO), ``None`` when actor and critic see the same observation."""
    if config.network == "gru":
        return RecurrentActorCritic(nvec, config.hidden, config.activation,
                                    actor_inputs=actor_inputs, gru_size=config.gru_size)
    return ActorCritic(nvec, config.hidden, config.activation, actor_inputs=actor_inputs)


def per_learner(step: Callable, shared: bool) -> Callable:
    """``step(params, carry [..., count, k], x [..., count, d])`` for a group; per-learner
    params (``shared=False``) carry a leading [count] axis."""
    if shared:
        return step
    return jax.vmap(step, in_axes=(0, -2, -2), out_axes=(-2, -2, -1))


def act(key: jax.Array, logits: jax.Array, nvec: tuple[int, ...], greedy: bool) -> jax.Array:
    """Actions int ``[..., len(nvec)]`` from logits ``[..., sum(nvec)]``: the mode of each
    component (``greedy``; ``key`` unused) or a sample."""
    if greedy:
        return jnp.stack([jnp.argmax(part, axis=-1)
                          for part in distributions.split_logits(logits, nvec)], axis=-1)
    return distributions.sample(key, logits, nvec)


class FrozenPolicy:
    """An :class:`Opponent`'s policy acting on its group's observations outside a
    training loop (e.g. in a remote env): ``policy(obs [count, d]) -> int32 [count, k]``
    greedy actions (``greedy=False`` samples with ``key``). A recurrent policy keeps its
    memory between calls; :meth:`reset` clears it (call it at each episode start)."""

    def __init__(self, opponent: Opponent, nvec: tuple[int, ...]):
        self.group, self.nvec = opponent.group, tuple(nvec)
        step = per_learner(normalizing(policy_step(opponent.network, actor_only=True)),
                           opponent.shared)
        self._params, self._size = opponent.params, carry_size(opponent.network)

        def run(params, carry, obs, key, greedy):
            carry, logits, _ = step(params, carry, obs)
            return carry, act(key, logits, self.nvec, greedy)

        self._run = jax.jit(run, static_argnames="greedy")
        self.reset()

    def reset(self) -> None:
        self._carry = jnp.zeros((self.group.count, self._size), jnp.float32)

    def __call__(self, obs, *, greedy: bool = True, key: jax.Array | None = None) -> jax.Array:
        key = jax.random.key(0) if key is None else key
        obs = jnp.asarray(obs, jnp.float32).reshape(self.group.count, -1)
        self._carry, actions = self._run(self._params, self._carry, obs, key, greedy)
        return actions

"""Flax actor-critic networks (float32 whatever the input dtype).

PPO conventions (PureJaxRL / CleanRL): orthogonal init with gain sqrt(2) on
hidden layers, 0.01 on the policy head (near-uniform initial policy) and 1.0 on
the value head; zero biases; separate actor and critic torsos.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

_ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}


def _check_activation(activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")


def _check_hidden(hidden: Sequence[int]) -> None:
    if any(int(h) <= 0 for h in hidden):
        raise ValueError(f"hidden sizes must be positive, got {tuple(hidden)}")


def _dense(features: int, scale: float) -> nn.Dense:
    return nn.Dense(
        features,
        kernel_init=nn.initializers.orthogonal(scale),
        bias_init=nn.initializers.zeros,
        param_dtype=jnp.float32,
    )


def _torso(x: jax.Array, hidden: Sequence[int], activation: str) -> jax.Array:
    act = _ACTIVATIONS[activation]
    for h in hidden:
        x = act(_dense(int(h), float(np.sqrt(2.0)))(x))
    return x


class ActorCritic(nn.Module):
    """Separate-torso actor-critic for ``Discrete``/``MultiDiscrete`` actions.

    ``__call__(obs [..., d]) -> (logits float32 [..., sum(nvec)], value float32 [...])``;
    ``policy(obs) -> logits`` runs the actor alone (what a frozen opponent needs).

    ``actor_inputs``: when set, the actor reads only the first ``actor_inputs``
    features and the critic reads all of them. MAPPO uses this with inputs
    ``[local obs, global state]``: a decentralised actor and a centralised critic.
    """

    nvec: tuple[int, ...]
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    actor_inputs: int | None = None

    def __post_init__(self):
        nvec = tuple(self.nvec)
        if not nvec or any(int(n) <= 0 for n in nvec):
            raise ValueError(f"nvec must be a non-empty tuple of positive ints, got {nvec}")
        _check_hidden(self.hidden)
        _check_activation(self.activation)
        if self.actor_inputs is not None and int(self.actor_inputs) <= 0:
            raise ValueError(f"actor_inputs must be positive or None, got {self.actor_inputs}")
        super().__post_init__()

    def setup(self):
        self.actor = _Actor(int(sum(int(n) for n in self.nvec)), tuple(self.hidden),
                            self.activation)
        self.critic = CentralisedCritic(tuple(self.hidden), self.activation)

    def _actor_view(self, obs: jax.Array) -> jax.Array:
        x = jnp.asarray(obs).astype(jnp.float32)
        return x if self.actor_inputs is None else x[..., : self.actor_inputs]

    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = jnp.asarray(obs).astype(jnp.float32)
        return self.actor(self._actor_view(x)), self.critic(x)

    def policy(self, obs: jax.Array) -> jax.Array:
        """Actor logits only (float32 [..., sum(nvec)])."""
        return self.actor(self._actor_view(obs))


class _Actor(nn.Module):
    n_logits: int
    hidden: tuple[int, ...]
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        a = _torso(x, self.hidden, self.activation)
        return _dense(self.n_logits, 0.01)(a).astype(jnp.float32)


class CentralisedCritic(nn.Module):
    """MAPPO centralised critic: ``__call__(global_state [..., d]) -> value float32 [...]``."""

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self):
        _check_hidden(self.hidden)
        _check_activation(self.activation)
        super().__post_init__()

    @nn.compact
    def __call__(self, global_state: jax.Array) -> jax.Array:
        x = jnp.asarray(global_state).astype(jnp.float32)
        c = _torso(x, self.hidden, self.activation)
        return _dense(1, 1.0)(c)[..., 0].astype(jnp.float32)

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

    ``__call__(obs [..., obs_dim]) -> (logits float32 [..., sum(nvec)], value float32 [...])``.
    """

    nvec: tuple[int, ...]
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self):
        nvec = tuple(self.nvec)
        if not nvec or any(int(n) <= 0 for n in nvec):
            raise ValueError(f"nvec must be a non-empty tuple of positive ints, got {nvec}")
        _check_hidden(self.hidden)
        _check_activation(self.activation)
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = jnp.asarray(obs).astype(jnp.float32)
        a = _torso(x, self.hidden, self.activation)
        logits = _dense(int(sum(int(n) for n in self.nvec)), 0.01)(a)
        c = _torso(x, self.hidden, self.activation)
        value = _dense(1, 1.0)(c)[..., 0]
        return logits.astype(jnp.float32), value.astype(jnp.float32)


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

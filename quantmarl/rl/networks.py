"""Flax actor-critic networks (float32 whatever the input dtype).

PPO conventions (PureJaxRL / CleanRL): orthogonal init with gain sqrt(2) on
hidden layers, 0.01 on the policy head (near-uniform initial policy) and 1.0 on
the value head; zero biases; separate actor and critic torsos.

The orthogonal initialiser is :func:`orthogonal`, the same distribution (and,
key for key, the same matrices up to float rounding) as
``flax.linen.initializers.orthogonal`` but computed by Gram-Schmidt with plain
matrix products instead of LAPACK's QR: with ``jax_enable_x64`` on, several
batched QRs in one CPU program (``jit(vmap(init))`` of a 64x64 network) can
deadlock jaxlib's thread pool, which would hang ``jit(vmap(train))`` over seeds.

* :class:`ActorCritic`: feedforward, ``(obs) -> (logits, value)``.
* :class:`RecurrentActorCritic`: a GRU memory on the actor side,
  ``(carry, obs) -> (carry, logits, value)``; the caller zeroes ``carry`` where an
  episode starts.
* :func:`policy_step`: either network as one step function
  ``(params, carry, obs) -> (carry, logits, value)`` (a feedforward network's carry
  is an empty ``[..., 0]`` array passed through), which is what rollouts, PPO
  updates and evaluation call.
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


def _check_actor_critic(net: nn.Module) -> None:
    nvec = tuple(net.nvec)
    if not nvec or any(int(n) <= 0 for n in nvec):
        raise ValueError(f"nvec must be a non-empty tuple of positive ints, got {nvec}")
    _check_hidden(net.hidden)
    _check_activation(net.activation)
    if net.actor_inputs is not None and int(net.actor_inputs) <= 0:
        raise ValueError(f"actor_inputs must be positive or None, got {net.actor_inputs}")


def _gram_schmidt(a: jax.Array) -> jax.Array:
    """Orthonormal columns of ``a [m, k]`` (m >= k), as Q of a QR with a positive diagonal
    R (classical Gram-Schmidt, each column orthogonalised twice for float32 accuracy)."""
    k = a.shape[1]

    def column(q, j):
        v = jax.lax.dynamic_index_in_dim(a, j, axis=1, keepdims=False)
        earlier = (jnp.arange(k) < j).astype(a.dtype)
        for _ in range(2):
            v = v - q @ ((q.T @ v) * earlier)
        return q.at[:, j].set(v / jnp.sqrt(jnp.sum(v * v))), None

    q, _ = jax.lax.scan(column, jnp.zeros_like(a), jnp.arange(k))
    return q


def orthogonal(scale: float = 1.0):
    """Orthogonal kernel initialiser (``init(key, shape, dtype)``), as
    ``flax.linen.initializers.orthogonal(scale)`` without LAPACK (see the module docstring).
    """

    def init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
        tall = (rows, cols) if rows >= cols else (cols, rows)
        q = _gram_schmidt(jax.random.normal(key, tall, dtype))
        q = q if rows >= cols else q.T
        return (scale * q).reshape(shape).astype(dtype)

    return init


def _dense(features: int, scale: float) -> nn.Dense:
    return nn.Dense(
        features,
        kernel_init=orthogonal(scale),
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
        _check_actor_critic(self)
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


class RecurrentActorCritic(nn.Module):
    """Actor-critic whose actor has a GRU memory (for partially observed markets).

    ``__call__(carry float32 [..., gru_size], obs [..., d]) -> (carry, logits float32
    [..., sum(nvec)], value float32 [...])``. The actor is an MLP torso on its view
    of ``obs``, then a GRU cell, then the policy head. The critic is an MLP on all of
    ``obs`` (the global state under MAPPO) together with the GRU output, through
    ``stop_gradient``: it reads the memory but only the policy loss shapes it, so
    the actor and critic stay separate as in :class:`ActorCritic`.

    Zero ``carry`` where an episode starts (:meth:`initial_carry`); PPO replays
    whole rollout sequences through the cell (see :mod:`quantmarl.rl.train`).
    """

    nvec: tuple[int, ...]
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    actor_inputs: int | None = None
    gru_size: int = 64

    def __post_init__(self):
        _check_actor_critic(self)
        if int(self.gru_size) <= 0:
            raise ValueError(f"gru_size must be positive, got {self.gru_size}")
        super().__post_init__()

    def setup(self):
        self.actor_torso = _MLP(tuple(self.hidden), self.activation)
        self.memory = nn.GRUCell(int(self.gru_size), recurrent_kernel_init=orthogonal(1.0),
                                 param_dtype=jnp.float32)
        self.policy_head = _dense(int(sum(int(n) for n in self.nvec)), 0.01)
        self.critic = CentralisedCritic(tuple(self.hidden), self.activation)

    def _actor(self, carry: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        a = x if self.actor_inputs is None else x[..., : self.actor_inputs]
        carry, h = self.memory(jnp.asarray(carry, jnp.float32), self.actor_torso(a))
        return carry, self.policy_head(h).astype(jnp.float32), h

    def __call__(self, carry: jax.Array, obs: jax.Array):
        x = jnp.asarray(obs).astype(jnp.float32)
        carry, logits, h = self._actor(carry, x)
        value = self.critic(jnp.concatenate([x, jax.lax.stop_gradient(h)], axis=-1))
        return carry, logits, value

    def policy(self, carry: jax.Array, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(carry, logits)``: the actor alone (what a frozen opponent needs)."""
        carry, logits, _ = self._actor(carry, jnp.asarray(obs).astype(jnp.float32))
        return carry, logits

    def initial_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """Zero memory, float32 ``[*batch_shape, gru_size]``."""
        return jnp.zeros((*batch_shape, int(self.gru_size)), jnp.float32)


def carry_size(network: nn.Module) -> int:
    """Width of the network's recurrent state (0 for a feedforward network)."""
    return int(network.gru_size) if isinstance(network, RecurrentActorCritic) else 0


def policy_step(network: nn.Module, *, actor_only: bool = False):
    """``step(params, carry [..., carry_size], obs [..., d]) -> (carry, logits, value)``.

    Feedforward networks pass ``carry`` through. ``actor_only``: run the actor alone
    and return zero values (frozen opponents).
    """
    recurrent = isinstance(network, RecurrentActorCritic)

    def step(params, carry, obs):
        if recurrent and actor_only:
            carry, logits = network.apply(params, carry, obs, method=network.policy)
        elif recurrent:
            return network.apply(params, carry, obs)
        elif actor_only:
            logits = network.apply(params, obs, method=network.policy)
        else:
            logits, value = network.apply(params, obs)
            return carry, logits, value
        return carry, logits, jnp.zeros(logits.shape[:-1], jnp.float32)

    return step


class _MLP(nn.Module):
    hidden: tuple[int, ...]
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _torso(jnp.asarray(x).astype(jnp.float32), self.hidden, self.activation)


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

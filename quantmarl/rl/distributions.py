"""Multi-categorical distribution over concatenated logits.

A ``Discrete(n)`` action space is ``nvec=(n,)``; ``MultiDiscrete(nvec)`` is one
independent categorical per component. Logits for all components are
concatenated along the last axis: ``[..., sum(nvec)]``; actions are
``int32 [..., len(nvec)]``. ``nvec`` is a static tuple of ints.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _check_nvec(nvec) -> tuple[int, ...]:
    nvec = tuple(int(n) for n in nvec)
    if not nvec or any(n <= 0 for n in nvec):
        raise ValueError(f"nvec must be a non-empty tuple of positive ints, got {nvec}")
    return nvec


def split_logits(logits: jax.Array, nvec) -> list[jax.Array]:
    """``[..., sum(nvec)]`` -> list of ``[..., nvec[i]]`` (float32)."""
    nvec = _check_nvec(nvec)
    if logits.shape[-1] != sum(nvec):
        raise ValueError(f"logits last dim {logits.shape[-1]} != sum(nvec) = {sum(nvec)}")
    logits = jnp.asarray(logits).astype(jnp.float32)
    bounds = np.cumsum(nvec)[:-1].tolist()
    return jnp.split(logits, bounds, axis=-1)


def sample(key: jax.Array, logits: jax.Array, nvec) -> jax.Array:
    """Draw actions ``int32 [..., len(nvec)]`` from logits ``[..., sum(nvec)]``."""
    parts = split_logits(logits, nvec)
    keys = jax.random.split(key, len(parts))
    acts = [
        jax.random.categorical(k, lg, axis=-1).astype(jnp.int32)
        for k, lg in zip(keys, parts, strict=True)
    ]
    return jnp.stack(acts, axis=-1)


def log_prob(logits: jax.Array, actions: jax.Array, nvec) -> jax.Array:
    """Joint log-prob ``float32 [...]`` (sum over components) of ``actions [..., len(nvec)]``."""
    parts = split_logits(logits, nvec)
    actions = jnp.asarray(actions).astype(jnp.int32)
    if actions.shape[-1] != len(parts):
        raise ValueError(f"actions last dim {actions.shape[-1]} != len(nvec) = {len(parts)}")
    total = jnp.zeros(parts[0].shape[:-1], jnp.float32)
    for i, lg in enumerate(parts):
        logp = jax.nn.log_softmax(lg, axis=-1)
        total = total + jnp.take_along_axis(logp, actions[..., i : i + 1], axis=-1)[..., 0]
    return total


def entropy(logits: jax.Array, nvec) -> jax.Array:
    """Joint entropy ``float32 [...]`` (sum over independent components)."""
    parts = split_logits(logits, nvec)
    total = jnp.zeros(parts[0].shape[:-1], jnp.float32)
    for lg in parts:
        logp = jax.nn.log_softmax(lg, axis=-1)
        total = total - jnp.sum(jnp.exp(logp) * logp, axis=-1)
    return total

"""Observation normalisation: running mean and variance of a policy's inputs.

A policy whose ``TrainConfig.normalize_obs`` is on carries its statistics in its
variables, beside the network's weights: ``params[group] = {"params": ...,
"obs_norm": RunningStats}``. So they are saved in checkpoints, loaded with frozen
opponents and used wherever the policy acts (:func:`normalizing` wraps its step
function), with no further argument. The network sees
``clip((x - mean) / sqrt(var + 1e-8), -10, 10)``, per feature.

Training updates the statistics once per update, after the PPO epochs, from the
inputs of that update's rollout (Chan et al.'s parallel mean/variance merge, in
float32); the rollout and the epochs use the same statistics, so the first
epoch's probability ratios are exactly 1. Evaluation never updates them.

Reward scaling (``TrainConfig.normalize_reward``, :func:`scale_rewards`) divides each
group's rewards by the running standard deviation of its discounted return before
GAE; its state (:class:`ReturnScaler`) lives in the runner state, since only training
uses it. Reported episode returns stay unscaled by it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

CLIP = 10.0
EPS = 1e-8
KEY = "obs_norm"  # the variables entry holding the statistics


@struct.dataclass
class RunningStats:
    """Running moments of inputs ``[..., d]``."""

    mean: jax.Array  # float32 [d]
    var: jax.Array  # float32 [d] (population variance)
    count: jax.Array  # float32 [] inputs seen (starts at a tiny prior weight)


def init_stats(dim: int) -> RunningStats:
    """No data yet: mean 0, variance 1 (the identity map until data arrives)."""
    return RunningStats(mean=jnp.zeros((dim,), jnp.float32), var=jnp.ones((dim,), jnp.float32),
                        count=jnp.asarray(1e-4, jnp.float32))


def update(stats: RunningStats, x: jax.Array) -> RunningStats:
    """``stats`` merged with the batch ``x`` float32 ``[..., d]`` (all leading axes)."""
    x = x.reshape(-1, x.shape[-1]).astype(jnp.float32)
    n = jnp.asarray(x.shape[0], jnp.float32)
    b_mean, b_var = x.mean(axis=0), x.var(axis=0)
    total = stats.count + n
    delta = b_mean - stats.mean
    mean = stats.mean + delta * n / total
    m2 = stats.var * stats.count + b_var * n + jnp.square(delta) * stats.count * n / total
    return RunningStats(mean=mean, var=m2 / total, count=total)


def normalize(stats: RunningStats, x: jax.Array) -> jax.Array:
    """``x`` ``[..., d]`` standardised with ``stats`` and clipped to ``[-10, 10]``."""
    z = (x - stats.mean) / jnp.sqrt(stats.var + EPS)
    return jnp.clip(z, -CLIP, CLIP).astype(jnp.float32)


def normalizing(step: Callable) -> Callable:
    """``step(params, carry, x)`` that first standardises ``x`` with ``params["obs_norm"]``
    (when present) and hands the network its other variables."""

    def wrapped(params, carry, x):
        if isinstance(params, dict) and KEY in params:
            stats = params[KEY]
            params = {k: v for k, v in params.items() if k != KEY}
            x = normalize(stats, x)
        return step(params, carry, x)

    return wrapped


def split(params: dict) -> tuple[dict, RunningStats | None]:
    """``(trainable variables, statistics or None)`` of one group's params."""
    if isinstance(params, dict) and KEY in params:
        return {k: v for k, v in params.items() if k != KEY}, params[KEY]
    return params, None


def join(trainable: dict, stats: RunningStats | None) -> dict:
    """Inverse of :func:`split`."""
    return trainable if stats is None else {**trainable, KEY: stats}


# ----- reward scaling by the running std of the discounted return -----
@struct.dataclass
class ReturnScaler:
    """Reward scaling state of one learner group (``TrainConfig.normalize_reward``)."""

    stats: RunningStats  # moments of the discounted return, d = 1
    ret: jax.Array  # float32 [n_envs, count] discounted return of the episode so far


def init_scaler(n_envs: int, count: int) -> ReturnScaler:
    return ReturnScaler(stats=init_stats(1), ret=jnp.zeros((n_envs, count), jnp.float32))


def scale_rewards(scaler: ReturnScaler, reward: jax.Array, done: jax.Array,
                  gamma: float) -> tuple[ReturnScaler, jax.Array]:
    """``(scaler, reward / sqrt(Var[discounted return] + 1e-8))`` for a rollout's ``reward``
    and ``done`` ``[T, n_envs, count]``, as PureJaxRL's and CleanRL's reward normalisation
    (the mean is not removed). The return accumulates ``ret = gamma * ret + r`` and restarts
    after ``done``; its variance is merged with every step of the rollout first."""

    def step(ret, xs):
        r, d = xs
        ret = gamma * ret + r
        return jnp.where(d, 0.0, ret), ret

    ret, returns = jax.lax.scan(step, scaler.ret, (reward.astype(jnp.float32), done))
    stats = update(scaler.stats, returns[..., None])
    return (ReturnScaler(stats=stats, ret=ret),
            (reward / jnp.sqrt(stats.var[0] + EPS)).astype(jnp.float32))

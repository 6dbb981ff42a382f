"""PPO pieces: GAE, the clipped PPO loss and explained variance (pure functions).

``ppo_loss`` takes network outputs, not the network, so it can be checked with
hand-computed numbers; ``loss_fn`` is the thin wrapper that calls the network
first and is what ``jax.grad`` differentiates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp

from quantmarl.rl import distributions


def gae(rewards, values, dones, last_value, gamma: float, lam: float):
    """Generalised advantage estimation.

    Args:
      rewards, values, dones: ``[T, ...]``; ``dones[t]`` means the episode ended at
        step ``t``, so neither the value nor the advantage of ``t + 1`` is bootstrapped.
      last_value: ``[...]`` value of the observation after step ``T - 1``.
    Returns:
      ``(advantages [T, ...], returns [T, ...])`` with ``returns = advantages + values``,
      in the floating dtype of the inputs (float32 for float32 rollouts).
    """
    dtype = jnp.result_type(rewards, values, last_value)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    rewards = jnp.asarray(rewards, dtype)
    values = jnp.asarray(values, dtype)
    not_done = 1.0 - jnp.asarray(dones).astype(dtype)
    last_value = jnp.asarray(last_value, dtype)
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)

    def step(next_adv, xs):
        r, v, nv, nd = xs
        delta = r + gamma * nv * nd - v
        adv = delta + gamma * lam * nd * next_adv
        return adv, adv

    _, adv = jax.lax.scan(
        step, jnp.zeros_like(last_value), (rewards, values, next_values, not_done), reverse=True
    )
    return adv, adv + values


def ppo_loss(
    logits,
    values,
    actions,
    old_log_probs,
    old_values,
    advantages,
    returns,
    nvec,
    clip_eps: float = 0.2,
    vf_coef: float = 0.5,
    ent_coef: float = 0.01,
    clip_value: bool = True,
    normalize_advantages: bool = True,
):
    """Clipped PPO loss, averaged over all batch elements.

    Args:
      logits: ``[..., sum(nvec)]`` new policy logits; values: ``[...]`` new values.
      actions: ``int [..., len(nvec)]``; old_log_probs, old_values, advantages, returns: ``[...]``.
    Returns:
      ``(loss, metrics)``: ``loss = policy_loss + vf_coef * value_loss - ent_coef * entropy``
      (float32 scalar); metrics has ``policy_loss``, ``value_loss``, ``entropy``,
      ``approx_kl`` (mean of ``(ratio - 1) - log ratio``) and ``clip_frac``.
    """
    f32 = jnp.float32
    values = jnp.asarray(values).astype(f32)
    old_log_probs = jnp.asarray(old_log_probs).astype(f32)
    old_values = jnp.asarray(old_values).astype(f32)
    advantages = jnp.asarray(advantages).astype(f32)
    returns = jnp.asarray(returns).astype(f32)

    new_log_probs = distributions.log_prob(logits, actions, nvec)
    log_ratio = new_log_probs - old_log_probs
    ratio = jnp.exp(log_ratio)
    if normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    surr1 = ratio * advantages
    surr2 = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    policy_loss = -jnp.minimum(surr1, surr2).mean()

    v_err = jnp.square(values - returns)
    if clip_value:
        v_clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        v_err = jnp.maximum(v_err, jnp.square(v_clipped - returns))
    value_loss = 0.5 * v_err.mean()

    ent = distributions.entropy(logits, nvec).mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * ent
    metrics = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": ent,
        "approx_kl": jax.lax.stop_gradient(((ratio - 1.0) - log_ratio).mean()),
        "clip_frac": jax.lax.stop_gradient((jnp.abs(ratio - 1.0) > clip_eps).astype(f32).mean()),
    }
    return loss.astype(f32), metrics


def loss_fn(params, apply_fn: Callable, batch: Mapping, nvec, **coefs):
    """``apply_fn(params, batch["obs"]) -> (logits, values)``, then :func:`ppo_loss`.

    ``batch`` keys: ``obs``, ``actions``, ``old_log_probs``, ``old_values``,
    ``advantages``, ``returns``; ``coefs`` are passed on to :func:`ppo_loss`.
    Returns ``(loss, metrics)``: use ``jax.grad(loss_fn, has_aux=True)``.
    """
    logits, values = apply_fn(params, batch["obs"])
    return ppo_loss(
        logits,
        values,
        batch["actions"],
        batch["old_log_probs"],
        batch["old_values"],
        batch["advantages"],
        batch["returns"],
        nvec,
        **coefs,
    )


def explained_variance(values, returns):
    """``1 - Var[returns - values] / Var[returns]`` (scalar; NaN when ``Var[returns] == 0``)."""
    values = jnp.asarray(values).astype(jnp.float32)
    returns = jnp.asarray(returns).astype(jnp.float32)
    var_r = jnp.var(returns)
    return jnp.where(var_r == 0, jnp.nan, 1.0 - jnp.var(returns - values) / var_r)

"""Baseline policies in a learner group's own action space, on its own observation.

Before anything is said about what a learner learned, its policy is compared
with policies that need no learning (:func:`quantmarl.rl.evaluate.make_episodes`):

* ``random``: uniform over the action space;
* ``hold``: never trades. Its action is the encoding's hold action; the
  ``market_maker`` encoding has none (it always quotes), so the hold policy sends
  an action outside the space, which the env turns into a hold;
* ``scripted``: a fixed rule reading the same observation vector the learner
  reads (unnormalised features, see :mod:`quantmarl.env.observations`), then
  acting through the same encoding:

  ==================  ============================================================
  rule                what it does
  ==================  ============================================================
  ``momentum``        ``z = momentum / (volatility * sqrt(10))`` (the 10-step return
                      in units of its expected size): buy when ``z > 1``, sell when
                      ``z < -1`` (from ``returns`` summed over 5 steps when the
                      spec has no ``momentum``)
  ``value``           ``z = fundamental / (volatility / 100)`` (the gap to value in
                      units of one step's volatility): buy when ``z > 1``, sell when
                      ``z < -1``
  ``index``           ``z = basis / volatility`` (the asset against the index, in
                      per-step volatilities): sell when ``z > 1``, buy when ``z < -1``
  ``quoter``          quotes both sides at the middle offset, smallest size
                      (symmetric, no inventory skew)
  ==================  ============================================================

  Directional rules send no buy at inventory >= 0.95 of the position limit
  (and no sell at <= -0.95) when the spec has ``inventory``. A ``discrete``
  group trades market orders of its ``trade_size``; a ``limit`` group sends its
  smallest order at offset 0 (at the mid's passive side). The rule of a group
  (:func:`rule_for`): ``quoter`` for the ``market_maker`` encoding; ``index``
  for any spec with ``basis``; else
  ``momentum`` when the spec has ``momentum`` or ``returns``; else ``value``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from quantmarl.env.observations import FEATURES, resolve_spec
from quantmarl.env.types import AgentGroup

BASELINES = ("random", "hold", "scripted")
RULES = ("momentum", "value", "index", "quoter")
_INVENTORY_CAP = 0.95


def feature_slices(spec) -> dict[str, slice]:
    """Feature name -> its columns in the observation vector of ``spec``."""
    out, i = {}, 0
    for name in resolve_spec(spec):
        width = FEATURES[name][1]
        out[name] = slice(i, i + width)
        i += width
    return out


def rule_for(group: AgentGroup) -> str:
    """The scripted rule of ``group`` (see the module docstring)."""
    cols = feature_slices(group.observation)
    if group.action == "market_maker":
        return "quoter"
    if "basis" in cols:
        return "index"
    if "momentum" in cols or "returns" in cols:
        return "momentum"
    if "fundamental" in cols:
        return "value"
    raise ValueError(f"group {group.name!r}: no scripted rule reads its observation "
                     f"{tuple(cols)} (needs momentum, returns, fundamental or basis)")


def hold_actions(group: AgentGroup, shape: tuple[int, ...], k: int) -> jax.Array:
    """int32 ``[*shape, k]`` actions that never trade."""
    if group.action == "market_maker":
        return jnp.full((*shape, k), -1, jnp.int32)  # outside the space: the env holds
    return jnp.zeros((*shape, k), jnp.int32)  # component 0 is "hold" in discrete and limit


def scripted_actions(group: AgentGroup, obs: jax.Array, k: int) -> jax.Array:
    """int32 ``[..., k]`` actions of the group's scripted rule on ``obs`` float32 ``[..., d]``."""
    if group.action == "market_maker":
        mid = group.n_offsets // 2
        shape = obs.shape[:-1]
        return jnp.stack([jnp.full(shape, mid), jnp.full(shape, mid),
                          jnp.zeros(shape, jnp.int32)], axis=-1).astype(jnp.int32)
    side = _signal(rule_for(group), feature_slices(group.observation), obs)
    if group.action == "discrete":
        return jnp.where(side > 0, 1, jnp.where(side < 0, 2, 0)).astype(jnp.int32)[..., None]
    if group.action == "limit":
        side_i = jnp.where(side > 0, 1, jnp.where(side < 0, 2, 0)).astype(jnp.int32)
        zero = jnp.zeros_like(side_i)
        return jnp.stack([side_i, zero, zero, zero], axis=-1)
    raise ValueError(f"group {group.name!r}: no scripted policy for action encoding "
                     f"{group.action!r}")


def _signal(rule: str, cols: dict[str, slice], obs: jax.Array) -> jax.Array:
    """int32 [...]: +1 buy, -1 sell, 0 hold."""
    col = lambda name: obs[..., cols[name]]  # noqa: E731
    vol = jnp.maximum(col("volatility")[..., 0], 1e-6) if "volatility" in cols else 1.0
    if rule == "momentum":
        if "momentum" in cols:
            z = col("momentum")[..., 0] / (vol * math.sqrt(10))
        else:
            z = jnp.sum(col("returns"), axis=-1) / (vol * math.sqrt(col("returns").shape[-1]))
    elif rule == "value":
        z = col("fundamental")[..., 0] / (vol / 100.0)
    else:  # index: a rich asset is sold
        z = -col("basis")[..., 0] / vol
    side = jnp.where(z > 1.0, 1, jnp.where(z < -1.0, -1, 0))
    if "inventory" in cols:
        inv = col("inventory")[..., 0]
        side = jnp.where((side > 0) & (inv >= _INVENTORY_CAP), 0, side)
        side = jnp.where((side < 0) & (inv <= -_INVENTORY_CAP), 0, side)
    return side.astype(jnp.int32)

"""Per-step, per-asset effects of the active events in a schedule.

:func:`effects_at` turns an :class:`~quantmarl.events.schedule.EventSchedule`
and a step into one :class:`Effects` record per asset; the market step uses it
to drive agents and background order flow. Pure JAX: ``jit``-able and
``vmap``-able over markets (``n_assets`` is static). All fields are float32
statistics (or bool); no money is touched here.

Combination rules, for the events active at ``step`` (``start <= step <
start + duration``, kind not NONE) that target the asset (``asset == a`` or
``asset == -1``):

* ``vol_mult``: product of the volatility-spike multipliers (1 if none);
* ``liquidity_mult``: product of the liquidity-shock multipliers (1 if none);
* ``sell_pressure``: sum over flash crashes of ``magnitude / duration``, so a
  crash of ``m`` over ``d`` steps asks for ``m / d`` of the price per step,
  ``m`` in total -- fractions of the *pre-event* price (a linear path); a
  consumer that applies them to the running price compounds to
  ``1 - (1 - m/d)**d`` instead;
* ``buy_pressure``: the same for flash rallies;
* ``sell_lots``: sum of the active sell programs' lots per step;
* ``fundamental_jump``: news acts only at its start step; several news events
  at one step compound multiplicatively: ``prod(1 + j) - 1`` (computed in
  float64 and rounded once, so a single jump comes back exactly);
* ``withdraw_liquidity``: a flash crash or flash rally is active on the asset,
  or ``liquidity_mult >= withdraw_threshold`` (default
  :data:`WITHDRAW_LIQUIDITY_MULT`).

Events naming an asset index ``>= n_assets`` affect nothing.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl._validate import is_int
from quantmarl.events.schedule import EventKind, EventSchedule

__all__ = ["WITHDRAW_LIQUIDITY_MULT", "Effects", "active_events", "effects_at", "no_effects"]

WITHDRAW_LIQUIDITY_MULT = 4.0  # default liquidity_mult at or above which market makers withdraw


@struct.dataclass
class Effects:
    """Event effects on each asset for one step (add a leading axis under ``vmap``)."""

    vol_mult: jax.Array  # float32 [A] multiplier on fundamental volatility and background
    #                      order-size dispersion (1 = normal)
    liquidity_mult: jax.Array  # float32 [A] spread widening factor (>= 1); background limit-order
    #                            arrival scales by 1 / liquidity_mult
    sell_pressure: jax.Array  # float32 [A] extra sell flow this step, fraction of the price to push
    #                           down per step (flash crash)
    buy_pressure: jax.Array  # float32 [A] same, pushing up (flash rally)
    fundamental_jump: jax.Array  # float32 [A] multiplicative jump of the fundamental value this
    #                              step (0 = none; 0.05 = +5%)
    withdraw_liquidity: jax.Array  # bool [A] market makers withdraw their quotes
    sell_lots: jax.Array  # float32 [A] lots sold at market this step (sell programs; whole)


def _check_n_assets(n_assets: object) -> int:
    if not is_int(n_assets, allow_numpy=False) or n_assets < 1:
        raise ValueError(f"n_assets must be a Python int >= 1 (static), got {n_assets!r}")
    return n_assets


def no_effects(n_assets: int) -> Effects:
    """Effects of an empty schedule: multipliers 1, pressures and jumps 0, no withdrawal."""
    n_assets = _check_n_assets(n_assets)
    ones = jnp.ones((n_assets,), jnp.float32)
    zeros = jnp.zeros((n_assets,), jnp.float32)
    return Effects(
        vol_mult=ones,
        liquidity_mult=ones,
        sell_pressure=zeros,
        buy_pressure=zeros,
        fundamental_jump=zeros,
        withdraw_liquidity=jnp.zeros((n_assets,), jnp.bool_),
        sell_lots=zeros,
    )


def active_events(schedule: EventSchedule, step: jax.Array | int) -> jax.Array:
    """bool ``[E]``: rows active at ``step`` (``start <= step < start + duration``, not NONE).

    Compared in int64, so ``start + duration`` cannot overflow.
    """
    step = jnp.asarray(step).astype(jnp.int64)
    start = schedule.start.astype(jnp.int64)
    end = start + schedule.duration.astype(jnp.int64)
    return (schedule.kind != EventKind.NONE) & (start <= step) & (step < end)


@functools.partial(jax.jit, static_argnames=("n_assets",))
def effects_at(
    schedule: EventSchedule,
    step: jax.Array | int,
    n_assets: int,
    withdraw_threshold: jax.Array | float = WITHDRAW_LIQUIDITY_MULT,
) -> Effects:
    """Combine the events active at ``step`` into per-asset :class:`Effects`.

    Args:
        schedule: the event table (rows ``[E]``).
        step: int ``[]`` current step.
        n_assets: static number of assets ``A``.
        withdraw_threshold: float32 ``[]``; market makers withdraw when
            ``liquidity_mult >= withdraw_threshold`` (dynamic, may be a param).

    Returns:
        :class:`Effects` with fields of shape ``[A]`` (rules in the module docstring).
    """
    n_assets = _check_n_assets(n_assets)
    active = active_events(schedule, step)  # [E]
    targets = (schedule.asset[:, None] == -1) | (
        schedule.asset[:, None] == jnp.arange(n_assets, dtype=jnp.int32)[None, :]
    )  # [E, A]
    hit = active[:, None] & targets  # [E, A]
    kind = schedule.kind[:, None]  # [E, 1]
    mag = schedule.magnitude.astype(jnp.float32)[:, None]  # [E, 1]
    dur = jnp.maximum(schedule.duration, 1).astype(jnp.float32)[:, None]  # [E, 1]

    def is_(k: EventKind) -> jax.Array:
        return hit & (kind == int(k))  # [E, A]

    one = jnp.float32(1)
    zero = jnp.float32(0)
    vol_mult = jnp.prod(jnp.where(is_(EventKind.VOLATILITY_SPIKE), mag, one), axis=0)
    liq_mult = jnp.prod(jnp.where(is_(EventKind.LIQUIDITY_SHOCK), mag, one), axis=0)
    crash, rally = is_(EventKind.FLASH_CRASH), is_(EventKind.FLASH_RALLY)
    sell = jnp.sum(jnp.where(crash, mag / dur, zero), axis=0)
    buy = jnp.sum(jnp.where(rally, mag / dur, zero), axis=0)
    lots = jnp.sum(jnp.where(is_(EventKind.SELL_PROGRAM), mag, zero), axis=0)
    at_start = (jnp.asarray(step).astype(jnp.int64) == schedule.start.astype(jnp.int64))[:, None]
    news = is_(EventKind.NEWS) & at_start
    # prod(1 + j) - 1 in float64: exact for a single float32 jump, then rounded once.
    growth = jnp.prod(jnp.where(news, 1.0 + mag.astype(jnp.float64), 1.0), axis=0)
    jump = growth - 1.0
    withdraw = jnp.any(crash | rally, axis=0) | (
        liq_mult >= jnp.asarray(withdraw_threshold, jnp.float32)
    )
    return Effects(
        vol_mult=vol_mult.astype(jnp.float32),
        liquidity_mult=liq_mult.astype(jnp.float32),
        sell_pressure=sell.astype(jnp.float32),
        buy_pressure=buy.astype(jnp.float32),
        fundamental_jump=jump.astype(jnp.float32),
        withdraw_liquidity=withdraw,
        sell_lots=lots.astype(jnp.float32),
    )

"""Reward plug-ins and their registry.

A reward is ``fn(ctx, params) -> (reward float32 [n_smart], new_carry)``
over a :class:`RewardContext`; ``carry`` is per-learner reward state
(float32 [n_smart, 2]) used by stateful rewards such as the differential
Sharpe ratio. Wealth is marked to market in currency-free units: cash plus
position x last price (ticks x tick value), divided by the initial wealth,
so rewards are comparable across markets. This is a statistic; the ledger
itself stays exact int64.

Built-ins:
``pnl``: change in marked wealth; ``pnl_inventory`` (default): the same
minus ``inventory_penalty x (position / max_position)^2``;
``sharpe``: differential Sharpe ratio (Moody & Saffell 2001) of the wealth
return with EMA rate ``sharpe_eta``; the EMA variance is floored at
``SHARPE_VAR_FLOOR`` and the reward clipped to [-10, 10], since the ratio
explodes while the variance estimate is still near zero.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

F32 = jnp.float32


@struct.dataclass
class RewardContext:
    """What rewards may read (one market, ``n_smart`` learners)."""

    wealth: jax.Array  # float32 [n_smart] marked wealth / initial wealth, after the step
    prev_wealth: jax.Array  # float32 [n_smart] before the step
    inventory: jax.Array  # float32 [n_smart] position in the learner's asset / max_position
    carry: jax.Array  # float32 [n_smart, 2] reward state


@struct.dataclass
class RewardParams:
    """Reward weights (a pytree; part of ``EnvParams``)."""

    inventory_penalty: jax.Array  # float32 [] weight of the squared inventory penalty
    sharpe_eta: jax.Array  # float32 [] EMA rate of the differential Sharpe ratio


def default_reward_params() -> RewardParams:
    return RewardParams(inventory_penalty=jnp.asarray(1e-3, F32), sharpe_eta=jnp.asarray(0.01, F32))


RewardFn = Callable[[RewardContext, RewardParams], tuple[jax.Array, jax.Array]]


def pnl(ctx: RewardContext, params: RewardParams):
    return ctx.wealth - ctx.prev_wealth, ctx.carry


def pnl_inventory(ctx: RewardContext, params: RewardParams):
    return ctx.wealth - ctx.prev_wealth - params.inventory_penalty * ctx.inventory**2, ctx.carry


SHARPE_VAR_FLOOR = 1e-8


def sharpe(ctx: RewardContext, params: RewardParams):
    """D_t = (B dA - A dB / 2) / (B - A^2)^(3/2), A/B EMAs of the return and its square."""
    r = ctx.wealth / jnp.maximum(ctx.prev_wealth, 1e-9) - 1.0
    a, b = ctx.carry[:, 0], ctx.carry[:, 1]
    da, db = r - a, r * r - b
    var = jnp.maximum(b - a * a, SHARPE_VAR_FLOOR)
    d = jnp.clip((b * da - 0.5 * a * db) / var**1.5, -10.0, 10.0)
    eta = params.sharpe_eta
    carry = jnp.stack([a + eta * da, b + eta * db], axis=1)
    return d, carry


REWARDS: dict[str, RewardFn] = {"pnl": pnl, "pnl_inventory": pnl_inventory, "sharpe": sharpe}


def register_reward(name: str, fn: RewardFn) -> None:
    """Add a reward ``fn(ctx, params) -> (reward [n_smart], carry [n_smart, 2])``."""
    if not isinstance(name, str) or not name or name in REWARDS:
        raise ValueError(f"reward name must be a new non-empty string, got {name!r}")
    REWARDS[name] = fn


def get_reward(name: str) -> RewardFn:
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; known rewards: {sorted(REWARDS)}")
    return REWARDS[name]

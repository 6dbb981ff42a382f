"""Exact int64 accounting: cash, positions and fees.

Units: cash in minor units (e.g. cents), prices in ticks, quantities in lots;
``tick_value`` is the cash (minor units) one lot gains when the price moves
one tick, so a fill's notional is ``qty * price * tick_value``.

Fees are ``floor(notional * bps / 10_000)`` minor units, computed as
``(notional // 10_000) * bps + (notional % 10_000) * bps // 10_000`` so that
no intermediate overflows int64 (``notional * bps`` could). The buyer pays
notional + fee, the seller receives notional - fee, and every fee goes to
``fees_collected``: the sum of all cash plus ``fees_collected`` never changes,
and neither does the total position in any asset. No float touches the ledger.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.types import check_int64

BPS = 10_000


@struct.dataclass
class Ledger:
    """Holdings of every agent that can hold inventory (learners included)."""

    cash: jax.Array  # int64 [n_agents] minor units
    position: jax.Array  # int64 [n_agents, n_assets] lots (negative = short)
    fees_collected: jax.Array  # int64 [] minor units

    def totals(self) -> tuple[jax.Array, jax.Array]:
        """(sum of cash + fees collected, total position per asset): both constant over time."""
        return jnp.sum(self.cash) + self.fees_collected, jnp.sum(self.position, axis=0)


def new_ledger(cash: jax.Array, position: jax.Array) -> Ledger:
    """A ledger from int64 starting cash [n] and positions [n, A]."""
    check_int64("cash", cash)
    check_int64("position", position)
    return Ledger(cash=cash, position=position, fees_collected=jnp.zeros((), jnp.int64))


def fee(notional: jax.Array, bps: jax.Array) -> jax.Array:
    """``floor(notional * bps / 10_000)`` in int64 without overflow (notional, bps >= 0).

    Truncating division equals floor division for non-negative operands; by the
    constant 10_000 it compiles to a multiply and shift.
    """
    notional = jnp.asarray(notional)
    bps = jnp.asarray(bps, notional.dtype)
    per = jnp.asarray(BPS, notional.dtype)
    whole = jax.lax.div(notional, per)
    return whole * bps + jax.lax.div((notional - whole * per) * bps, per)


def notional(qty: jax.Array, price: jax.Array, tick_value: jax.Array) -> jax.Array:
    """Cash value of ``qty`` lots at ``price`` ticks: int64 minor units."""
    return qty * price * tick_value


def settle(
    ledger: Ledger,
    owner: jax.Array,
    asset: jax.Array,
    side: jax.Array,
    qty: jax.Array,
    price: jax.Array,
    tick_value: jax.Array,
    fee_bps: jax.Array,
) -> Ledger:
    """Book executions: ``owner`` int32 [m] traded ``qty`` int64 [m] lots of ``asset`` int32 [m]
    at ``price`` int64 [m] ticks on ``side`` int64 [m] (+1 bought, -1 sold), paying ``fee_bps``
    int64 [m] basis points each.

    Rows with qty 0 change nothing (padding). The caller guarantees that, per
    asset, bought lots equal sold lots and buy notional equals sell notional
    (true of every fill and of a uniform-price auction).
    """
    for name, x in (("qty", qty), ("price", price), ("side", side)):
        check_int64(name, x)
    value = notional(qty, price, tick_value)
    fees = fee(value, fee_bps)
    cash_delta = -side * value - fees
    n_agents, n_assets = ledger.position.shape
    owner = jnp.where(qty > 0, owner, n_agents)  # padding rows land in a dropped bin
    cash = ledger.cash.at[owner].add(cash_delta, mode="drop")
    position = ledger.position.at[owner, asset].add(side * qty, mode="drop")
    return Ledger(cash=cash, position=position, fees_collected=ledger.fees_collected + fees.sum())


@struct.dataclass
class RiskLimits:
    """Risk limits of every agent (params pytree), kept at every step: an order that could
    breach them, counted with the agent's other orders, is refused whole
    (:mod:`quantmarl.market.risk`). The background pool has none."""

    min_cash: jax.Array  # int64 [] cash may not go below this (0 = no borrowing)
    max_position: jax.Array  # int64 [] |position| per asset may not exceed this (lots)
    allow_short: jax.Array  # bool [] whether positions may go below zero


def account_deltas(
    side: jax.Array,
    qty: jax.Array,
    price: jax.Array,
    asset: jax.Array,
    n_assets: int,
    tick_value: jax.Array,
    fee_bps: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Executions laid out one account per row (``[R, k]``: k orders of account r).

    Returns ``(cash delta [R], position delta [R, n_assets], fees [])`` with the
    same arithmetic as :func:`settle`, but elementwise (no scatter): the fast
    path for agents' own orders, whose owner is their row.
    """
    for name, x in (("qty", qty), ("price", price), ("side", side)):
        check_int64(name, x)
    value = notional(qty, price, tick_value)
    fees = fee(value, fee_bps)
    cash = jnp.sum(-side * value - fees, axis=-1)
    one_hot = asset[..., None] == jnp.arange(n_assets, dtype=asset.dtype)
    position = jnp.sum(jnp.where(one_hot, (side * qty)[..., None], 0), axis=-2)
    return cash, position, jnp.sum(fees)


def apply_deltas(ledger: Ledger, cash: jax.Array, position: jax.Array, fees: jax.Array) -> Ledger:
    """Add per-account deltas (``[n_accounts]``, ``[n_accounts, A]``) and collected fees."""
    return Ledger(cash=ledger.cash + cash, position=ledger.position + position,
                  fees_collected=ledger.fees_collected + fees)

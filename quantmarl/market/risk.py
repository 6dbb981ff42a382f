"""Pre-trade risk arithmetic: an agent's orders are admitted only while *all* of them
(resting and queued ones included) could fill in full at their worst prices within its limits.

The limits hold at every step because they are kept as an invariant. For every
agent, with resting buy and sell lots ``B`` and ``S`` per asset and resting
buy commitment ``C`` (each resting buy's notional at its limit plus its fee):

* ``cash - C >= min_cash``;
* ``position + B <= max_position`` and ``position - S >= -max_position``
  (``>= 0`` without short selling).

Orders queued for a halted asset (:mod:`quantmarl.market.halt_queue`) count
as commitments like resting ones (:func:`queued_exposure`); a queued market
buy is priced again when its asset reopens and re-admitted only if it still fits.

A fill only moves lots and cash from the commitment to the ledger (a buy fills
at or below its limit, and fees are superadditive: ``fee(a) + fee(b) <=
fee(a + b)``), sells never lower cash (``fee <= notional``), and cancels only
shrink commitments, so admitting new orders only while the invariant still
holds with them keeps every agent within its limits whatever fills. An
agent's orders of one step are admitted in slot order, each counted against
what its earlier admitted orders already use.

Money is exact int64. The one float is a screen: a buy whose notional
estimate exceeds ``2**61`` minor units (more than any cash) is refused before
its exact cost is computed, so no product overflows int64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.book.state import ASK, BID, BookState
from quantmarl.market.accounting import Ledger, RiskLimits, fee, notional

MAX_COST = 2.0**61  # minor units: buys estimated above this are refused unpriced
UNPRICED = 2**62  # minor units: the commitment of an account whose queued buys exceed MAX_COST


@struct.dataclass
class Exposure:
    """Resting orders per account (CDA mode), what they could still do to the ledger."""

    buy_qty: jax.Array  # int64 [N, A] lots of resting buys
    sell_qty: jax.Array  # int64 [N, A] lots of resting sells
    buy_cost: jax.Array  # int64 [N] minor units: resting buys' notional at their limits + fees


@struct.dataclass
class Room:
    """What each account may still commit (N accounts, A assets; agents' rows are meaningful)."""

    cash: jax.Array  # int64 [N] minor units of cash above min_cash not yet committed
    long: jax.Array  # int64 [N, A] lots that may still be bought
    short: jax.Array  # int64 [N, A] lots that may still be sold


def room(ledger: Ledger, limits: RiskLimits, exposure: Exposure) -> Room:
    """The :class:`Room` the ledger's cash and positions leave after ``exposure``."""
    lower = jnp.where(limits.allow_short, -limits.max_position, 0)
    return Room(cash=ledger.cash - limits.min_cash - exposure.buy_cost,
                long=limits.max_position - ledger.position - exposure.buy_qty,
                short=ledger.position - lower - exposure.sell_qty)


def no_exposure(n_accounts: int, n_assets: int) -> Exposure:
    """Nothing committed."""
    z = jnp.zeros((n_accounts, n_assets), jnp.int64)
    return Exposure(buy_qty=z, sell_qty=z, buy_cost=jnp.zeros((n_accounts,), jnp.int64))


def plus(a: Exposure, b: Exposure) -> Exposure:
    """Both exposures together."""
    return jax.tree.map(jnp.add, a, b)


def buy_cost(qty: jax.Array, price: jax.Array, tick_value: jax.Array,
             fee_bps: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(cost int64, fits bool): notional + fee of ``qty`` lots (>= 0) at ``price`` ticks, exact
    where ``fits`` (estimate <= :data:`MAX_COST`); 0 elsewhere."""
    est = (qty.astype(jnp.float64) * price.astype(jnp.float64)
           * jnp.asarray(tick_value).astype(jnp.float64))
    fits = est <= MAX_COST
    value = notional(jnp.where(fits, qty, 0), jnp.where(fits, price, 0), tick_value)
    return value + fee(value, fee_bps), fits


def resting_exposure(books: BookState, gone: jax.Array, n_accounts: int,
                     tick_value: jax.Array, fee_bps: jax.Array) -> Exposure:
    """Exposure of the orders resting in ``books`` (fields [A, ...]) that stay this step
    (``gone`` bool [A, 2, cap] marks those about to be cancelled)."""
    n_assets, _, cap = books.price.shape
    live = jnp.arange(cap)[None, None, :] < books.count[:, :, None]
    keep = live & ~gone & (books.owner >= 0)
    qty = jnp.where(keep, books.qty, 0)
    owner = jnp.where(keep, books.owner, n_accounts)  # empty slots land in a dropped row
    asset = jnp.broadcast_to(jnp.arange(n_assets)[:, None], (n_assets, cap))
    zeros = jnp.zeros((n_accounts, n_assets), jnp.int64)
    buys = zeros.at[owner[:, BID], asset].add(qty[:, BID], mode="drop")
    sells = zeros.at[owner[:, ASK], asset].add(qty[:, ASK], mode="drop")
    value = notional(qty[:, BID], books.price[:, BID], tick_value)
    cost = jnp.zeros((n_accounts,), jnp.int64).at[owner[:, BID]].add(
        value + fee(value, fee_bps), mode="drop")
    return Exposure(buy_qty=buys, sell_qty=sells, buy_cost=cost)


def queued_exposure(side: jax.Array, price: jax.Array, qty: jax.Array, owner: jax.Array,
                    worst_market: jax.Array, n_accounts: int, tick_value: jax.Array,
                    fee_bps: jax.Array) -> Exposure:
    """Exposure of queued orders (fields [A, Q], ``owner`` -1 where empty): buys at their limit,
    market buys at ``worst_market`` int64 [A] ticks. An account whose queued buys are estimated
    above :data:`MAX_COST` in all is charged :data:`UNPRICED` (no further buy fits)."""
    n_assets, cap = side.shape
    own = jnp.where((side != 0) & (owner >= 0), owner, n_accounts)  # empty: a dropped row
    asset = jnp.broadcast_to(jnp.arange(n_assets)[:, None], (n_assets, cap))
    zeros = jnp.zeros((n_accounts, n_assets), jnp.int64)
    buys = zeros.at[own, asset].add(jnp.where(side > 0, qty, 0), mode="drop")
    sells = zeros.at[own, asset].add(jnp.where(side < 0, qty, 0), mode="drop")
    worst = jnp.where(price > 0, price, worst_market[:, None])
    cost, fits = buy_cost(jnp.where(side > 0, qty, 0), worst, tick_value, fee_bps)
    est = jnp.where(fits, cost.astype(jnp.float64), 2 * MAX_COST)
    total = jnp.zeros((n_accounts,), jnp.int64).at[own].add(cost, mode="drop")
    total_est = jnp.zeros((n_accounts,), jnp.float64).at[own].add(
        jnp.where(side > 0, est, 0.0), mode="drop")
    return Exposure(buy_qty=buys, sell_qty=sells,
                    buy_cost=jnp.where(total_est > MAX_COST, UNPRICED, total))


def admit(
    candidate: jax.Array,
    side: jax.Array,
    qty: jax.Array,
    worst: jax.Array,
    asset: jax.Array,
    cash_room: jax.Array,
    long_room: jax.Array,
    short_room: jax.Array,
    tick_value: jax.Array,
    fee_bps: jax.Array,
) -> jax.Array:
    """bool [n, k]: the orders admitted, each agent's k slots in order.

    ``candidate``, ``side``, ``qty``, ``worst`` (ticks: the highest price a buy
    can fill at), ``asset`` are [n, k]; ``cash_room`` int64 [n] is cash above
    ``min_cash`` not yet committed; ``long_room`` / ``short_room`` int64 [n, k]
    are the lots the slot's asset may still be bought / sold. A buy needs its
    cost within the cash room and its lots within the long room; a sell its lots
    within the short room (selling never lowers cash).
    """
    k = side.shape[1]
    q = jnp.maximum(qty, 0)
    cost, fits = buy_cost(q, worst, tick_value, fee_bps)
    buy, sell = side > 0, side < 0
    cash_left = cash_room
    ok = []
    for j in range(k):
        long_used = jnp.zeros_like(q[:, j])
        short_used = jnp.zeros_like(q[:, j])
        for i in range(j):
            same = asset[:, i] == asset[:, j]
            long_used += jnp.where(ok[i] & buy[:, i] & same, q[:, i], 0)
            short_used += jnp.where(ok[i] & sell[:, i] & same, q[:, i], 0)
        lots_ok = jnp.where(buy[:, j], q[:, j] <= long_room[:, j] - long_used,
                            q[:, j] <= short_room[:, j] - short_used)
        cash_ok = ~buy[:, j] | (fits[:, j] & (cost[:, j] <= cash_left))
        ok.append(candidate[:, j] & lots_ok & cash_ok)
        cash_left = cash_left - jnp.where(ok[j] & buy[:, j], cost[:, j], 0)
    return jnp.stack(ok, axis=1)

"""Flash crash / rally order flow: the one order per asset that moves the price to its target.

A crash step sells at ``target = floor(last * (1 - sell_pressure))`` with a
size that meets every buy willing to pay ``target`` or more (this step's
buys, plus resting bids in a continuous book), so the price trades down to
the target: a crash of ``m`` over ``d`` steps compounds to
``1 - (1 - m/d)**d`` (about ``m``). A rally mirrors it with buys. A sell program
(when no crash or rally is active) sends one market sell of its lots: no target, so
the book and the traders decide the price. The market books the burst to the
background account and lets it arrive first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.book.state import BookState
from quantmarl.events.effects import Effects


@struct.dataclass
class Burst:
    """This step's stress order per asset (side 0 and qty 0 where no burst is active)."""

    side: jax.Array  # int64 [A, 1] -1 crash or sell program (sell), +1 rally (buy), 0 none
    price: jax.Array  # int64 [A, 1] ticks: the target (a limit); 0 where none or at market
    qty: jax.Array  # int64 [A, 1] lots: everything willing to trade at the target, plus one;
    #                 a sell program's lots
    reference: jax.Array  # int64 [A] the target where active, else the last price


def _targets(last_price, effects, halted):
    """(crash bool [A], rally bool [A], target int64 [A] ticks) of this step's bursts."""
    last = last_price.astype(jnp.float64)
    down = jnp.floor(last * (1.0 - effects.sell_pressure.astype(jnp.float64))).astype(jnp.int64)
    up = jnp.ceil(last * (1.0 + effects.buy_pressure.astype(jnp.float64))).astype(jnp.int64)
    crash = (effects.sell_pressure > 0) & ~halted
    rally = (effects.buy_pressure > 0) & ~halted & ~crash
    return crash, rally, jnp.where(crash, jnp.maximum(down, 1), up)


def burst_reference(last_price: jax.Array, effects: Effects, halted: jax.Array) -> jax.Array:
    """int64 [A] ticks: :attr:`Burst.reference` (the target where a burst is active, else the
    last price), known before this step's other orders are."""
    crash, rally, target = _targets(last_price, effects, halted)
    return jnp.where(crash | rally, target, last_price)


def stress_burst(
    last_price: jax.Array,
    effects: Effects,
    halted: jax.Array,
    side: jax.Array,
    price: jax.Array,
    qty: jax.Array,
    books: BookState | None = None,
) -> Burst:
    """The burst of every asset.

    Args:
        last_price: int64 [A] ticks.
        effects: this step's per-asset event effects (``sell_pressure``,
            ``buy_pressure`` fractions of the price per step).
        halted: bool [A]; a halted asset gets no burst (the market passes all
            false and queues the bursts of halted assets instead).
        side, price, qty: int64 [A, M] this step's other orders per asset
            (price 0 = market order; side 0 where the slot is not for the asset).
        books: the continuous books (fields [A, ...]) whose resting orders also
            meet the burst, or None (auction mode: nothing rests).

    ``reference`` is the auction's reference price: the target while a burst is
    active, so the auction's "closest to the reference" tie-break leans toward it.
    """
    n_assets = last_price.shape[0]
    crash, rally, target = _targets(last_price, effects, halted)
    active = crash | rally
    t = target[:, None]
    buys = (side == 1) & ((price == 0) | (price >= t))
    sells = (side == -1) & ((price == 0) | (price <= t))

    def willing():  # only computed on steps with a burst
        return (jnp.sum(jnp.where(buys, qty, 0), axis=1),
                jnp.sum(jnp.where(sells, qty, 0), axis=1))

    zeros = jnp.zeros((n_assets,), jnp.int64)
    demand, supply = jax.lax.cond(jnp.any(active), willing, lambda: (zeros, zeros))
    if books is not None:
        slot = jnp.arange(books.price.shape[-1])[None, :]

        def resting(book, tgt):
            live = slot < book.count[:, None]
            bids = jnp.sum(jnp.where(live[0] & (book.price[0] >= tgt), book.qty[0], 0))
            asks = jnp.sum(jnp.where(live[1] & (book.price[1] <= tgt), book.qty[1], 0))
            return bids, asks

        bids, asks = jax.vmap(resting)(books, target)
        demand, supply = demand + bids, supply + asks
    size = jnp.where(crash, demand, jnp.where(rally, supply, 0)) + 1
    program = (effects.sell_lots > 0) & ~halted & ~active
    lots = jnp.round(effects.sell_lots).astype(jnp.int64)  # whole by construction
    return Burst(
        side=jnp.where(active, jnp.where(crash, -1, 1),
                       jnp.where(program, -1, 0)).astype(jnp.int64)[:, None],
        price=jnp.where(active, target, 0).astype(jnp.int64)[:, None],
        qty=jnp.where(active, size, jnp.where(program, lots, 0)).astype(jnp.int64)[:, None],
        reference=jnp.where(active, target, last_price),
    )

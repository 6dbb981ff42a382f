"""Trading halts: orders queue per asset while it is halted, and it reopens with a call auction.

While the circuit breaker halts an asset, every order sent to it -- agents'
(smart and reactive, after the band and risk checks), the background pool's
and a stress burst's -- joins the asset's :class:`HaltQueue` (capacity
``MarketConfig.halt_queue`` orders, in arrival order: each step the burst,
then agents' orders in account order, then the pool's). An order a full
queue cannot take is refused and counted: agents' as
``Rejection.QUEUE_FULL``, the pool's and bursts' per asset
(``HaltQueue.refused``, ``StepRecord.queue_refused``). Nothing is dropped
silently; resting orders of a continuous book stay (and may be cancelled or
expire) during the halt.

An account that requotes (a market maker, a learner's quote: see
:func:`~quantmarl.market.orders.requoting`) and sends an order to a halted
asset replaces its orders queued there (:func:`withdraw`, before the risk
checks), as a requote cancels its resting orders: its queued quotes do not
pile up.

While queued, an agent's orders count against its risk limits like resting
ones (:func:`~quantmarl.market.risk.queued_exposure`). On the first step the
asset is no longer halted, it *reopens*: the queued agent orders are admitted
again (:func:`release`: market buys priced at that step's worst price) within
what the owner's resting orders and its orders still queued for other assets
leave, each counted with the owner's earlier queued orders, so limits hold;
refusals count as ``Rejection.RISK_LIMIT``. Then

* auction mode: what is left joins the step's uniform-price auction ahead of
  the step's own orders (earlier, so first in time priority);
* CDA mode: a call auction (:func:`quantmarl.book.auction.clear`) of the
  queue together with the book's resting orders (resting first) executes at
  one price, after expiry and before the step's continuous flow. The unfilled
  rest of the queued limit orders rests behind the book's orders at equal
  prices (time priority; a side that is full refuses the latest, counted as
  ``Rejection.BOOK``), a market remainder is discarded as in the book. The
  price is the exact volume-maximising one (ties: least imbalance, closest
  to the last price, lower), found over every order's limit and used as the
  kernel's reference, so no unfilled buy and sell can still cross.

Executions are booked at the taker fee by the settlement of the step's other
executions (:func:`~quantmarl.market.accounting.settle`, one scatter for
all); ``StepRecord.reopened`` flags the step.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from quantmarl.market.layout import flat
from quantmarl.market.rare import rare
from quantmarl.market.risk import MAX_COST, buy_cost


@struct.dataclass
class HaltQueue:
    """Orders waiting for halted assets to reopen (A assets, capacity Q = config.halt_queue)."""

    side: jax.Array  # int64 [A, Q] +1 buy, -1 sell, 0 empty slot
    price: jax.Array  # int64 [A, Q] limit in ticks, 0 = market order
    qty: jax.Array  # int64 [A, Q] lots
    owner: jax.Array  # int32 [A, Q] account (the background account for pool and bursts)
    count: jax.Array  # int32 [A] slots in use (slots 0 .. count-1, oldest first)
    halted: jax.Array  # bool [A] the asset was halted at the previous step
    refused: jax.Array  # int64 [A] pool and burst orders a full queue refused so far


@struct.dataclass
class Queued:
    """The queue released at a reopening: orders still to execute, and which assets reopen."""

    side: jax.Array  # int64 [A, Q] (0 where refused or not reopening)
    price: jax.Array  # int64 [A, Q] ticks, 0 = market order
    qty: jax.Array  # int64 [A, Q] lots
    owner: jax.Array  # int32 [A, Q] account
    reopen: jax.Array  # bool [A] the asset reopens this step


@struct.dataclass
class Call:
    """A CDA reopening call auction's outcome (A assets; R = 2 * book capacity + Q orders per
    asset, the book's resting orders first). Its executions are booked with the step's fills."""

    price: jax.Array  # int64 [A] ticks (the last price where nothing traded)
    volume: jax.Array  # int64 [A] lots
    n_trades: jax.Array  # int64 [A] orders executed (resting and queued)
    owner: jax.Array  # int32 [A, R] account of each order of the call
    side: jax.Array  # int64 [A, R] +1 buy, -1 sell, 0 none
    filled: jax.Array  # int64 [A, R] lots executed at ``price``
    book_refusals: jax.Array  # int64 [] agents' queued orders a full book side refused


def empty_queue(n_assets: int, capacity: int) -> HaltQueue:
    """A queue with nothing waiting."""
    z = jnp.zeros((n_assets, capacity), jnp.int64)
    return HaltQueue(side=z, price=z, qty=z, owner=jnp.full((n_assets, capacity), -1, jnp.int32),
                     count=jnp.zeros((n_assets,), jnp.int32),
                     halted=jnp.zeros((n_assets,), bool), refused=jnp.zeros((n_assets,), jnp.int64))


def enqueue(queue, flat, owners, pool, halted, pool_account) -> tuple[HaltQueue, jax.Array,
                                                                     jax.Array]:
    """Queue this step's orders for halted assets (``halted`` bool [A]).

    ``flat`` is the agents' (side, price, qty, asset) [m] with ``owners`` int32 [m];
    ``pool`` the per-asset orders [A, 1 + n_bg] (column 0 the stress burst).
    Returns (queue, agents' orders refused int64 [], pool/burst orders refused int64 [A]).
    """
    queue, agents_refused, pool_refused = rare(
        jnp.any(halted), partial(_enqueue, pool_account=pool_account), _no_enqueue,
        queue, flat, owners, pool, halted)
    return queue.replace(refused=queue.refused + pool_refused), agents_refused, pool_refused


def _no_enqueue(queue, flat, owners, pool, halted):
    return queue, jnp.zeros((), jnp.int64), jnp.zeros(halted.shape, jnp.int64)


def _enqueue(queue, flat, owners, pool, halted, pool_account):
    side, price, qty, asset = flat
    cap = queue.side.shape[1]
    n_assets = halted.shape[0]

    def add(a, q_side, q_price, q_qty, q_owner, count, p_side, p_price, p_qty, h):
        mine = asset == a
        s = jnp.concatenate([p_side[:1], jnp.where(mine, side, 0), p_side[1:]])
        p = jnp.concatenate([p_price[:1], price, p_price[1:]])
        q = jnp.concatenate([p_qty[:1], qty, p_qty[1:]])
        o = jnp.concatenate([jnp.full((1,), pool_account, jnp.int32), owners,
                             jnp.full((p_side.shape[0] - 1,), pool_account, jnp.int32)])
        live = (s != 0) & h
        rank = count + jnp.cumsum(live, dtype=jnp.int32) - 1
        fits = live & (rank < cap)
        at = jnp.where(fits, rank, cap)
        refused = live & ~fits
        is_agent = jnp.arange(s.shape[0]) >= 1
        is_agent = is_agent & (jnp.arange(s.shape[0]) <= side.shape[0])
        return (q_side.at[at].set(s, mode="drop"), q_price.at[at].set(p, mode="drop"),
                q_qty.at[at].set(q, mode="drop"), q_owner.at[at].set(o, mode="drop"),
                jnp.minimum(count + jnp.sum(live, dtype=jnp.int32), cap),
                jnp.sum(refused & is_agent, dtype=jnp.int64),
                jnp.sum(refused & ~is_agent, dtype=jnp.int64))

    out = jax.vmap(add)(jnp.arange(n_assets), queue.side, queue.price, queue.qty,
                        queue.owner, queue.count, pool.side, pool.price, pool.qty, halted)
    return (queue.replace(side=out[0], price=out[1], qty=out[2], owner=out[3], count=out[4]),
            jnp.sum(out[5]), out[6])


def withdraw(queue: HaltQueue, groups: tuple, owners, requote: jax.Array,
             halted: jax.Array) -> HaltQueue:
    """The queue without the orders of requoting accounts (``requote`` bool [N]) on each halted
    asset (``halted`` bool [A]) they send an order to this step: a requote replaces the
    account's queued orders there as it cancels its resting ones (order kept otherwise).

    ``groups`` are the agents' orders before the checks, ``owners`` (NumPy int32 [m]) their
    accounts in flat order (:mod:`quantmarl.market.layout`). Runs only while a halted asset's
    queue holds orders (:func:`~quantmarl.market.rare.rare`).
    """
    return rare(jnp.any(halted & (queue.count > 0)), partial(_withdraw, owners=owners),
                lambda q, *_: q, queue, groups, requote, halted)


def _withdraw(queue, groups, requote, halted, owners):
    side, _, _, asset = flat(groups)
    owners = jnp.asarray(owners)
    n_assets, cap = queue.side.shape
    n = requote.shape[0]
    sends = (side != 0) & requote[owners] & halted[jnp.clip(asset, 0, n_assets - 1)]
    hit = jnp.zeros((n_assets, n + 1), bool).at[asset, owners].max(sends, mode="drop")
    mine = hit[jnp.arange(n_assets)[:, None], jnp.where(queue.owner >= 0, queue.owner, n)]
    keep = (queue.side != 0) & ~mine
    at = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, cap)
    rows = jnp.arange(n_assets)[:, None]

    def pack(x, empty):
        return jnp.full_like(x, empty).at[rows, at].set(x, mode="drop")

    return queue.replace(side=pack(queue.side, 0), price=pack(queue.price, 0),
                         qty=pack(queue.qty, 0), owner=pack(queue.owner, -1),
                         count=jnp.sum(keep, axis=1, dtype=jnp.int32))


def reopening(queue: HaltQueue, halted: jax.Array) -> jax.Array:
    """bool [A]: assets that were halted at the previous step and are not now."""
    return queue.halted & ~halted


def release(queue, reopen, room, worst_market, tick_value, fee_bps,
            pool_account) -> tuple[Queued, jax.Array]:
    """The queue of reopening assets, agents' orders admitted again within ``room``.

    ``room`` (:class:`~quantmarl.market.risk.Room`) is what each account may still
    commit besides the released orders (its resting orders and those still queued
    for other assets already counted). An agent's queued order is kept if it, filled
    in full at its worst price (its limit; ``worst_market`` int64 [A] ticks for a
    market buy; fees at ``fee_bps``), fits in that room after all of the owner's
    earlier queued orders (cash over every asset, lots per asset and side).
    Returns (the released orders, agents' orders refused int64 []).
    """
    keep, refused = rare(jnp.any(reopen), partial(_check, pool_account=pool_account),
                         _no_check, queue, reopen, room, worst_market, (tick_value, fee_bps))
    released = Queued(side=jnp.where(keep, queue.side, 0), price=jnp.where(keep, queue.price, 0),
                      qty=jnp.where(keep, queue.qty, 0), owner=queue.owner, reopen=reopen)
    return released, refused


def _no_check(queue, reopen, room, worst_market, fees):
    return jnp.zeros(queue.side.shape, bool), jnp.zeros((), jnp.int64)


def _check(queue, reopen, room, worst_market, fees, pool_account):
    tick_value, fee_bps = fees
    n_assets, cap = queue.side.shape
    side, price, qty, owner = (x.reshape(-1) for x in (queue.side, queue.price, queue.qty,
                                                      queue.owner))
    asset = jnp.repeat(jnp.arange(n_assets, dtype=jnp.int32), cap)
    live = (side != 0) & jnp.repeat(reopen, cap)
    agent = live & (owner >= 0) & (owner < pool_account)
    own = jnp.clip(owner, 0, pool_account)
    buy = agent & (side > 0)
    q = jnp.where(agent, qty, 0)
    cost, fits = buy_cost(jnp.where(buy, q, 0), jnp.where(price > 0, price, worst_market[asset]),
                          tick_value, fee_bps)
    est = jnp.where(buy, jnp.where(fits, cost.astype(jnp.float64), 2 * MAX_COST), 0.0)
    spent_est = _earlier_sum(own, est)  # screen: no exact sum below can overflow
    spent = _earlier_sum(own, jnp.where(buy & fits, cost, 0))
    used = _earlier_sum((own * n_assets + asset) * 2 + (side > 0), q)
    cash_ok = fits & (spent_est + est <= MAX_COST) & (spent + cost <= room.cash[own])
    ok = jnp.where(side > 0, cash_ok & (used + q <= room.long[own, asset]),
                   used + q <= room.short[own, asset])
    keep = live & (ok | ~agent)
    return keep.reshape(n_assets, cap), jnp.sum(agent & ~ok, dtype=jnp.int64)


def _earlier_sum(key: jax.Array, value: jax.Array) -> jax.Array:
    """[n]: ``value`` summed over earlier entries with the same ``key`` (int64 sums are exact
    where the group's sum fits, even if the running total over all groups wraps)."""
    n = key.shape[0]
    order = jnp.argsort(key, stable=True)
    k, v = key[order], value[order]
    before = jnp.cumsum(v) - v
    start = jnp.concatenate([jnp.ones((1,), bool), k[1:] != k[:-1]])
    first = jax.lax.cummax(jnp.where(start, jnp.arange(n), 0))  # each group's first entry
    return jnp.zeros_like(value).at[order].set(before - before[first])


def drain(queue: HaltQueue, reopen: jax.Array, halted: jax.Array) -> HaltQueue:
    """The queue after this step: reopened assets emptied, ``halted`` remembered."""
    empty = reopen[:, None]
    return queue.replace(side=jnp.where(empty, 0, queue.side),
                         price=jnp.where(empty, 0, queue.price),
                         qty=jnp.where(empty, 0, queue.qty),
                         owner=jnp.where(empty, -1, queue.owner),
                         count=jnp.where(reopen, 0, queue.count), halted=halted)

"""The CDA reopening call: a halted asset's queue and its book cross at one price.

See :mod:`quantmarl.market.halt_queue` for the rules. The call runs the
uniform-price kernel (:func:`quantmarl.book.auction.clear`) over the book's
resting orders (best first per side, so time priority holds at equal prices)
followed by the released queue; its reference is the exact volume-maximising
price over every limit (:func:`call_price`), so the kernel's band never
truncates the choice. Only assets that reopen take part, and the work is
skipped on steps where none does, also under ``vmap``
(:func:`~quantmarl.market.rare.rare`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from quantmarl.book.auction import clear
from quantmarl.book.state import FIRST_REJECTION, BookState, Status
from quantmarl.market.halt_queue import Call, Queued
from quantmarl.market.rare import rare

_BIG = jnp.iinfo(jnp.int64).max
_BOOK_FULL = int(Status.REJECTED_BOOK_FULL) - FIRST_REJECTION  # index in BookState.rejections


def call_price(side: jax.Array, price: jax.Array, qty: jax.Array, last: jax.Array) -> jax.Array:
    """int64 []: the price maximising executable volume over orders [n] (no band).

    Ties: least ``|demand - supply|``, then closest to ``last``, then lower;
    ``last`` when nothing can trade. Candidates are ``last`` and every limit and
    its neighbours (demand only drops just above a buy limit, supply only rises at
    a sell limit, so every interval of equal volume and imbalance ends at one).
    """
    valid = ((side == 1) | (side == -1)) & (qty > 0) & (price >= 0)
    buy, sell = valid & (side == 1), valid & (side == -1)
    q = jnp.where(valid, qty, 0)
    mkt_b = jnp.sum(jnp.where(buy & (price == 0), q, 0))
    mkt_s = jnp.sum(jnp.where(sell & (price == 0), q, 0))
    lim = jnp.where(valid & (price > 0), price, last)
    cand = jnp.concatenate([lim, jnp.maximum(lim - 1, 1), lim + 1, last[None]])
    bp = jnp.where(buy & (price > 0), price, 0)
    sp = jnp.where(sell & (price > 0), price, _BIG)
    ob, os_ = jnp.argsort(bp), jnp.argsort(sp)
    cum_b = jnp.concatenate([jnp.zeros((1,), jnp.int64), jnp.cumsum(jnp.where(bp > 0, q, 0)[ob])])
    cum_s = jnp.concatenate([jnp.zeros((1,), jnp.int64),
                             jnp.cumsum(jnp.where(sp < _BIG, q, 0)[os_])])
    demand = mkt_b + cum_b[-1] - cum_b[jnp.searchsorted(bp[ob], cand, side="left")]
    supply = mkt_s + cum_s[jnp.searchsorted(sp[os_], cand, side="right")]
    vol = jnp.minimum(demand, supply)
    best = vol == jnp.max(vol)
    imb = jnp.abs(demand - supply)
    best = best & (imb == jnp.min(jnp.where(best, imb, _BIG)))
    dist = jnp.abs(cand - last)
    best = best & (dist == jnp.min(jnp.where(best, dist, _BIG)))
    return jnp.where(jnp.max(vol) > 0, jnp.min(jnp.where(best, cand, _BIG)), last)


def _one(book, q_side, q_price, q_qty, q_owner, reopen, last, ids, band):
    """The call of one asset's book (``reopen`` false: nothing takes part)."""
    cap = book.capacity
    slot = jnp.arange(cap)[None, :]
    live = slot < book.count[:, None]
    r_side = jnp.where(live & reopen, jnp.array([[1], [-1]], jnp.int64), 0)
    r_qty = jnp.where(live, book.qty, 0)
    best_first = lambda x: x[:, ::-1].reshape(-1)  # noqa: E731
    s = jnp.concatenate([best_first(r_side), q_side])
    p = jnp.concatenate([best_first(book.price), q_price])
    q = jnp.concatenate([best_first(r_qty), q_qty])
    res = clear(s, p, q, call_price(s, p, q, last), band=band)
    filled_book = res.filled[: 2 * cap].reshape(2, cap)[:, ::-1]
    left_q = q_qty - res.filled[2 * cap :]
    rest_qty = r_qty - filled_book
    alive = live & (rest_qty > 0)
    rests = (q_side != 0) & (q_price > 0) & (left_q > 0)
    fits, rows = [], []
    for r, sd in ((0, 1), (1, -1)):
        want = rests & (q_side == sd)
        room = cap - jnp.sum(alive[r])
        fits.append(want & (jnp.cumsum(want) <= room))
    rested = fits[0] | fits[1]
    seq = book.next_seq + jnp.cumsum(rested) - 1
    for r, sd in ((0, 1), (1, -1)):
        keep = jnp.concatenate([alive[r], fits[r]])
        price = jnp.concatenate([book.price[r], q_price])
        order = jnp.lexsort((-jnp.concatenate([book.seq[r], seq]), sd * price, ~keep))[:cap]
        ok = keep[order]
        take = lambda x, empty, ok=ok, order=order: jnp.where(ok, x[order], empty)  # noqa: E731
        rows.append((take(price, 0), take(jnp.concatenate([rest_qty[r], left_q]), 0),
                     take(jnp.concatenate([book.order_id[r], ids]), -1),
                     take(jnp.concatenate([book.owner[r], q_owner]), -1),
                     take(jnp.concatenate([book.seq[r], seq]), -1), jnp.sum(ok)))
    full = rests & ~rested
    new_book = book.replace(
        price=jnp.stack([rows[0][0], rows[1][0]]), qty=jnp.stack([rows[0][1], rows[1][1]]),
        order_id=jnp.stack([rows[0][2], rows[1][2]]), owner=jnp.stack([rows[0][3], rows[1][3]]),
        seq=jnp.stack([rows[0][4], rows[1][4]]),
        count=jnp.stack([rows[0][5], rows[1][5]]).astype(jnp.int32),
        next_seq=book.next_seq + jnp.sum(rested),
        rejections=book.rejections.at[_BOOK_FULL].add(jnp.sum(full)))
    owner = jnp.concatenate([best_first(book.owner), q_owner])
    traded = res.volume > 0
    return (new_book, jnp.where(traded, res.price, last), res.volume, owner, s, res.filled,
            full)


def call_books(
    books: BookState, queued: Queued, last_price: jax.Array, config, first_id: jax.Array,
) -> tuple[BookState, Call]:
    """Run the reopening call on every reopening asset's book [A].

    Rested queued orders get ids ``first_id + a * Q + slot`` (unused by this step's orders).
    """
    work = partial(_call_all, band=config.auction_band, pool=config.background_account)
    return rare(jnp.any(queued.reopen), work, _no_call, books, queued, last_price, first_id)


def _no_call(books, queued, last_price, first_id):
    z = jnp.zeros(last_price.shape, jnp.int64)
    rows = (last_price.shape[0], 2 * books.price.shape[-1] + queued.side.shape[1])
    return books, Call(price=last_price, volume=z, n_trades=z,
                       owner=jnp.full(rows, -1, jnp.int32), side=jnp.zeros(rows, jnp.int64),
                       filled=jnp.zeros(rows, jnp.int64), book_refusals=jnp.zeros((), jnp.int64))


def _call_all(books, queued, last_price, first_id, band, pool):
    n_assets, cap_q = queued.side.shape
    ids = first_id + jnp.arange(n_assets * cap_q, dtype=jnp.int64).reshape(n_assets, cap_q)
    out = jax.vmap(partial(_one, band=band))(
        books, queued.side, queued.price, queued.qty, queued.owner, queued.reopen,
        last_price, ids)
    new_books, price, volume, owner, side, filled, full = out
    agents_full = full & (queued.owner >= 0) & (queued.owner < pool)
    return new_books, Call(price=price, volume=volume,
                           n_trades=jnp.sum(filled > 0, axis=1).astype(jnp.int64),
                           owner=owner.astype(jnp.int32), side=side, filled=filled,
                           book_refusals=jnp.sum(agents_full, dtype=jnp.int64))


def with_call(cleared, call: Call):
    """``cleared`` (a :class:`~quantmarl.market.clearing.Cleared`, whose ledger changes already
    include the call's) with the call's prices and counts: it opened the step, at one price,
    before the continuous trades."""
    called, cont = call.volume > 0, cleared.n_trades > 0
    px = call.price
    return cleared.replace(
        open=jnp.where(called, px, cleared.open),
        high=jnp.where(called, jnp.where(cont, jnp.maximum(cleared.high, px), px), cleared.high),
        low=jnp.where(called, jnp.where(cont, jnp.minimum(cleared.low, px), px), cleared.low),
        close=jnp.where(cont | ~called, cleared.close, px),
        volume=cleared.volume + call.volume, n_trades=cleared.n_trades + call.n_trades,
        book_refusals=cleared.book_refusals + call.book_refusals)

"""Continuous double auction: limit, market, cancel and delete messages.

Price-time priority; each fill executes at the resting (maker) order's price;
a limit remainder rests FIFO at its price; a market remainder is discarded.
Every message is handled by the same fixed sequence of masked, elementwise
O(capacity) passes (see :mod:`quantmarl.book.state` for the stack layout), so
there is no branching on traced values, ``vmap`` over books costs no divergent
work, and one message never touches more than ``2 * capacity`` slots.

Messages are int64 rows ``[type, order_id, side, price, qty, owner]``
(:data:`~quantmarl.book.state.MSG_WIDTH` columns): type from :class:`MsgType`,
side +1 buy / -1 sell, price in ticks (limit only), qty in lots, owner an
agent index (-1 if unused). Cancel and delete find the order by id on either
side (ids are unique among resting orders); their side must still be +1/-1.
An owner outside [-1, 2**31 - 1] makes the row invalid (owners are stored as
int32 agent indices, and are never truncated), except ``NOOP_OWNER`` (-2),
which marks an empty slot in a fixed-size batch: it does nothing and reports
``Status.NOOP`` (not a rejection).

Message types are not routed with ``lax.switch``: under ``vmap`` every branch
of a switch runs for every book anyway, so one masked pipeline that serves all
four types does less work than four branches, and it keeps a single book's
loop body small too.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from quantmarl.book.fills import (
    SWEEP_WINDOW,
    FillChunk,
    FillLog,
    MessageResult,
    pack_result,
    record_fills,
    unpack_result,
)
from quantmarl.book.state import (
    ASK,
    BID,
    FIRST_REJECTION,
    MSG_PRICE,
    MSG_QTY,
    MSG_SIDE,
    MSG_TYPE,
    MSG_WIDTH,
    N_REJECTION_REASONS,
    NOOP_OWNER,
    BookState,
    MsgType,
    Status,
)
from quantmarl.types import check_int64

_I64_MAX = jnp.iinfo(jnp.int64).max


def _shift_insert_delete(x, new_value, ins_pos, del_pos, slot):
    """Per row: insert ``new_value`` at ``ins_pos`` (shifting up) or delete ``del_pos`` (down).

    ``x`` is [2, cap]; positions are [2, 1] with ``cap`` meaning "none". The
    shifted copies are ``lax.pad`` of a slice, which XLA fuses into the select.
    """
    zero = jnp.zeros((), x.dtype)
    up = lax.pad(x[:, :-1], zero, ((0, 0, 0), (1, 0, 0)))  # up[i] = x[i-1]
    down = lax.pad(x[:, 1:], zero, ((0, 0, 0), (0, 1, 0)))  # down[i] = x[i+1]
    out = jnp.where(slot >= del_pos, down, x)
    out = jnp.where(slot > ins_pos, up, out)
    return jnp.where(slot == ins_pos, new_value, out)


def _sum_all(*xs: jax.Array) -> tuple[jax.Array, ...]:
    """Sum several same-shape arrays in one variadic reduction (one kernel, not one each)."""
    zeros = tuple(jnp.zeros((), x.dtype) for x in xs)
    return lax.reduce(
        xs, zeros, lambda a, b: tuple(x + y for x, y in zip(a, b, strict=True)),
        tuple(range(xs[0].ndim)),
    )


@struct.dataclass
class _Sweep:
    """Loop state while a taker trades down the top of the opposite side."""

    qty: jax.Array  # int64 [2, cap] remaining qty of resting orders
    opp_count: jax.Array  # int32 [] live orders left on the opposite side
    remaining: jax.Array  # int64 [] taker lots still to trade
    notional: jax.Array  # int64 []
    n_fills: jax.Array  # int64 []
    more: jax.Array  # bool [] another window may trade
    log: FillLog | None


def _sweep(book: BookState, msg: jax.Array, taker, log: FillLog | None, window: int) -> _Sweep:
    """Trade a taker against the opposite side, ``window`` resting orders per iteration.

    Each iteration reads the top ``window`` slots of the opposite stack, fills
    them best first (a cumulative sum over the window) and writes them back.
    A ``lax.while_loop`` repeats only while the taker still has quantity and
    has used up a whole window, which for realistic flow is rare.
    """
    side, price, qty = msg[MSG_SIDE], msg[MSG_PRICE], msg[MSG_QTY]
    is_buy = side == 1
    opp_row = jnp.where(is_buy, ASK, BID).astype(jnp.int32)
    is_market = msg[MSG_TYPE] == MsgType.MARKET
    limit_key = jnp.where(is_market, _I64_MAX, side * price)  # opp key = side * maker price
    zero = jnp.zeros((), jnp.int32)

    def body(st: _Sweep) -> _Sweep:
        c = st.opp_count
        start = jnp.maximum(c - window, 0)
        pos = start + jnp.arange(window, dtype=jnp.int32)

        def read(x):
            return lax.dynamic_slice(x, (opp_row, start), (1, window))[0]

        w_price, w_qty = read(book.price), read(st.qty)
        avail = jnp.where((pos < c) & (side * w_price <= limit_key), w_qty, 0)
        at_or_above = jnp.cumsum(avail[::-1])[::-1]
        fill = jnp.clip(st.remaining - (at_or_above - avail), 0, avail)
        traded = fill > 0
        consumed, n, filled, notional = _sum_all(
            (traded & (fill == w_qty)).astype(jnp.int32), traded.astype(jnp.int64),
            fill, fill * w_price)
        new_qty = lax.dynamic_update_slice(st.qty, (w_qty - fill)[None], (opp_row, start))
        new_count = c - consumed
        remaining = st.remaining - filled
        log = st.log
        if log is not None:
            rev = lambda x: x[::-1]  # noqa: E731  best first
            chunk = FillChunk(
                maker_id=rev(read(book.order_id)), maker_owner=rev(read(book.owner)),
                price=rev(w_price), qty=rev(fill), offset=window - (c - start))
            log = record_fills(log, chunk, msg)
        return _Sweep(
            qty=new_qty, opp_count=new_count, remaining=remaining,
            notional=st.notional + notional, n_fills=st.n_fills + n,
            more=(remaining > 0) & (consumed == c - start) & (new_count > 0), log=log)

    init = _Sweep(
        qty=book.qty, opp_count=book.count[opp_row], remaining=jnp.where(taker, qty, 0),
        notional=jnp.zeros((), jnp.int64), n_fills=jnp.zeros((), jnp.int64),
        more=taker & (book.count[opp_row] > zero), log=log)
    return lax.while_loop(lambda st: st.more, body, init)


def apply_message(
    book: BookState, msg: jax.Array, log: FillLog | None = None
) -> tuple[BookState, MessageResult, FillLog | None]:
    """Apply one int64 message row ``[type, order_id, side, price, qty, owner]`` to ``book``.

    The work is a fixed pipeline: one variadic reduction over both sides (id
    lookup, insertion point), a sweep of the opposite side's top ``window``
    orders (``SWEEP_WINDOW``; repeated only for deeper sweeps), and one elementwise rewrite of
    the arrays. Fills are appended to ``log`` when one is given.
    """
    check_int64("message", msg)
    cap = book.capacity
    window = min(SWEEP_WINDOW, cap)
    typ, oid, side, price, qty, owner = (msg[..., k] for k in range(MSG_WIDTH))
    slot = jnp.arange(cap, dtype=jnp.int32)[None, :]
    row = jnp.arange(2, dtype=jnp.int32)[:, None]
    live = slot < book.count[:, None]

    is_limit = typ == MsgType.LIMIT
    is_market = typ == MsgType.MARKET
    is_cancel = typ == MsgType.CANCEL
    is_delete = typ == MsgType.DELETE
    known = is_limit | is_market | is_cancel | is_delete
    noop = owner == NOOP_OWNER
    owner_ok = (owner >= -1) & (owner <= jnp.iinfo(jnp.int32).max)  # stored as int32
    invalid = ~known | ((side != 1) & (side != -1)) | (qty <= 0) | (is_limit & (price <= 0))
    invalid = (invalid | ~owner_ok) & ~noop
    known = known & ~noop
    is_buy = side == 1
    own_row = jnp.where(is_buy, BID, ASK).astype(jnp.int32)

    # --- one pass over both sides: id lookup and the insertion point ---
    id_hit = live & (book.order_id == oid)  # at most one hit
    own_key = -side * price
    key = book.price * jnp.array([[-1], [1]], jnp.int64)  # smaller key = better price
    n_hit, hit_qty, hit_flat, n_better = _sum_all(
        id_hit.astype(jnp.int32),
        jnp.where(id_hit, book.qty, 0),
        jnp.where(id_hit, row * cap + slot, 0),
        (live & (row == own_row) & (key <= own_key)).astype(jnp.int32),
    )
    found = n_hit > 0
    acts = ~invalid & ~noop
    duplicate = acts & is_limit & found
    unknown = acts & (is_cancel | is_delete) & ~found
    taker = acts & ~duplicate & (is_limit | is_market)

    # --- trade down the opposite side ---
    sweep = _sweep(book, msg, taker, log, window)
    remainder = sweep.remaining
    filled = jnp.where(taker, qty, 0) - remainder
    opp_count = sweep.opp_count

    # --- a limit remainder rests on its own side, behind equal prices ---
    own_count = jnp.where(is_buy, book.count[BID], book.count[ASK])
    wants_rest = taker & is_limit & (remainder > 0)
    book_full = wants_rest & (own_count >= cap)
    rests = wants_rest & ~book_full
    ins_pos = jnp.where((row == own_row) & rests, own_count - n_better, cap)  # [2, 1]

    # --- cancel / delete of the resting order found by id ---
    hit_row, hit_pos = hit_flat // cap, hit_flat % cap
    modify = acts & ~unknown & (is_cancel | is_delete)
    removes = modify & (is_delete | (qty >= hit_qty))
    reduces = modify & ~removes
    del_pos = jnp.where((row == hit_row) & removes, hit_pos, cap)  # [2, 1]
    cancelled = jnp.where(removes, hit_qty, jnp.where(reduces, qty, 0))

    # --- one elementwise rewrite: partial cancel in place, then one shift per row ---
    new_qty = sweep.qty - jnp.where(id_hit & reduces, qty, 0)
    shift = partial(_shift_insert_delete, ins_pos=ins_pos, del_pos=del_pos, slot=slot)
    counts = jnp.where(row[:, 0] == own_row, own_count, opp_count)
    new_count = (
        counts - (removes & (row[:, 0] == hit_row)) + (rests & (row[:, 0] == own_row))
    ).astype(jnp.int32)
    status = jnp.select(
        [noop, invalid, duplicate, unknown, book_full, removes, reduces, remainder == 0,
         filled == 0],
        [
            Status.NOOP,
            Status.REJECTED_INVALID,
            Status.REJECTED_DUPLICATE_ID,
            Status.REJECTED_UNKNOWN_ID,
            Status.REJECTED_BOOK_FULL,
            Status.REMOVED,
            Status.REDUCED,
            Status.FILLED,
            jnp.where(is_market, Status.DISCARDED, Status.RESTED),
        ],
        jnp.where(is_market, Status.PARTIAL_DISCARDED, Status.PARTIAL_RESTED),
    ).astype(jnp.int32)
    reason = jnp.arange(N_REJECTION_REASONS, dtype=jnp.int32) == status - FIRST_REJECTION
    new_book = BookState(
        price=shift(book.price, price),
        qty=shift(new_qty, remainder),
        order_id=shift(book.order_id, oid),
        owner=shift(book.owner, owner.astype(jnp.int32)),
        seq=shift(book.seq, book.next_seq),
        count=new_count,
        next_seq=book.next_seq + rests,
        rejections=book.rejections + reason,
    )
    result = MessageResult(
        status=status,
        filled=filled,
        notional=sweep.notional,
        n_fills=sweep.n_fills.astype(jnp.int32),
        rested=jnp.where(rests, remainder, 0),
        cancelled=cancelled,
    )
    return new_book, result, sweep.log


def _validate_messages(messages: jax.Array) -> None:
    check_int64("messages", messages)
    if messages.ndim < 2 or messages.shape[-1] != MSG_WIDTH:
        raise ValueError(
            f"messages must have shape (..., n, {MSG_WIDTH}) with columns "
            f"type, order_id, side, price, qty, owner; got {messages.shape}"
        )


@partial(jax.jit, static_argnames=("unroll",))
def process(
    book: BookState, messages: jax.Array, unroll: int = 1
) -> tuple[BookState, MessageResult]:
    """Apply ``messages`` (int64 [n, 6]) in order with ``lax.scan``; no fill log."""
    _validate_messages(messages)

    def body(b, m):
        b, res, _ = apply_message(b, m)
        return b, pack_result(res)

    book, packed = lax.scan(body, book, messages, unroll=unroll)
    return book, unpack_result(packed)


@partial(jax.jit, static_argnames=("unroll",))
def process_logged(
    book: BookState, log: FillLog, messages: jax.Array, unroll: int = 1
) -> tuple[BookState, FillLog, MessageResult]:
    """Like :func:`process`, also appending every fill to ``log`` in execution order."""
    _validate_messages(messages)

    def body(carry, m):
        b, res, lg = apply_message(carry[0], m, carry[1])
        return (b, lg), pack_result(res)

    (book, log), packed = lax.scan(body, (book, log), messages, unroll=unroll)
    return book, log, unpack_result(packed)


def cancel_where(book: BookState, remove: jax.Array) -> tuple[BookState, jax.Array]:
    """Remove every live order where ``remove`` (bool [2, cap]) is true, in one pass.

    Survivors keep their price-time order (a stable compaction: a cumulative
    count gives each kept order its new slot). Returns the new book and the
    lots removed per side, int64 [2]. Used once per step for quote refresh,
    cancel-all and order expiry; per-message cancels go through :func:`process`.
    """
    cap = book.capacity
    slot = jnp.arange(cap, dtype=jnp.int32)[None, :]
    live = slot < book.count[:, None]
    keep = live & ~remove
    dest = jnp.where(keep, jnp.cumsum(keep, axis=1, dtype=jnp.int32) - 1, cap)
    rows = jnp.broadcast_to(jnp.arange(2)[:, None], dest.shape)

    def compact(x, empty):
        return jnp.full_like(x, empty).at[rows, dest].set(x, mode="drop")

    removed = jnp.sum(jnp.where(live & remove, book.qty, 0), axis=1)
    new_book = book.replace(
        price=compact(book.price, 0),
        qty=compact(book.qty, 0),
        order_id=compact(book.order_id, -1),
        owner=compact(book.owner, -1),
        seq=compact(book.seq, -1),
        count=jnp.sum(keep, axis=1, dtype=jnp.int32),
    )
    return new_book, removed

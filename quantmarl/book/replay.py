"""Replay an order-message stream through the jitted CDA kernel: numpy in, numpy out.

This is the public contract used by tests, by data replay (e.g. LOBSTER
files) and by users::

    from quantmarl.book import replay_messages
    result = replay_messages(messages, capacity=256)

``messages`` is an integer array ``(n, 5)``: type, order_id, side, price, qty
(type 1 limit, 2 cancel, 3 delete, 4 market; side +1 buy, -1 sell; price in
ticks, limit only; qty in lots). Bad rows are rejected rows, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from quantmarl.book.cda import process_logged
from quantmarl.book.fills import SWEEP_WINDOW, empty_fill_log, fill_log_rows
from quantmarl.book.state import (
    ASK,
    BID,
    FIRST_REJECTION,
    MSG_OWNER,
    MSG_WIDTH,
    BookState,
    Status,
    empty_book,
    validate_capacity,
)

_MAX_CHUNK = 1 << 16


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced (all int64 numpy arrays unless stated)."""

    fills: np.ndarray  # (m, 4) taker_id, maker_id, price, qty in execution order
    bids: np.ndarray  # (levels, 2) price, total resting qty; best (highest) first
    asks: np.ndarray  # (levels, 2) price, total resting qty; best (lowest) first
    rejected: np.ndarray  # ascending row indices of rejected messages
    status: np.ndarray  # int32 (n,) Status code per message
    book: BookState  # final book state (JAX arrays), e.g. to continue replaying


def _as_messages(messages) -> np.ndarray:
    arr = np.asarray(messages)
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise ValueError(
            "messages must be a 2-D integer array of shape (n, 5) with columns "
            f"type, order_id, side, price, qty; got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"messages must have an integer dtype (int64 preferred), got {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("messages contain values above the int64 range")
    return arr.astype(np.int64)


def _levels(book: BookState, row: int) -> np.ndarray:
    count = int(book.count[row])
    price = np.asarray(book.price[row, :count])[::-1]  # best first
    qty = np.asarray(book.qty[row, :count])[::-1]
    if count == 0:
        return np.zeros((0, 2), np.int64)
    starts = np.flatnonzero(np.r_[True, price[1:] != price[:-1]])
    return np.stack([price[starts], np.add.reduceat(qty, starts)], axis=1).astype(np.int64)


def replay_messages(
    messages, capacity: int = 256, *, book: BookState | None = None
) -> ReplayResult:
    """Run ``messages`` through the jitted kernel and return fills, final ladders and rejections.

    ``capacity`` is the number of orders each side can hold; a limit
    remainder that finds its side full is rejected (its fills stand). Pass
    ``book`` to continue from an earlier state (its capacity wins). Messages
    are processed in fixed-size chunks, so one compilation serves any length.
    """
    msgs = _as_messages(messages)
    if book is None:
        book = empty_book(validate_capacity(capacity))
    n = msgs.shape[0]
    chunk = min(_MAX_CHUNK, max(256, 1 << max(n - 1, 1).bit_length()))
    # Fills per chunk <= orders resting at its start + limits that rest + one partial per taker.
    log_size = 2 * chunk + 2 * book.capacity
    fills, status = [], []
    padding_rows = 0
    for lo in range(0, max(n, 1), chunk):
        part = msgs[lo : lo + chunk]
        pad = chunk - part.shape[0]
        padding_rows += pad
        rows = np.zeros((chunk, MSG_WIDTH), np.int64)  # padding rows: type 0, rejected
        rows[: part.shape[0], :MSG_OWNER] = part
        rows[:, MSG_OWNER] = -1  # unknown owner
        book, log, res = process_logged(book, empty_fill_log(log_size), jnp.asarray(rows))
        count = int(log.count)
        if bool(log.overflow):  # cannot happen with the bound above
            raise RuntimeError("fill log overflow in replay_messages")
        fills.append(np.asarray(fill_log_rows(log)[:count, :4]))
        status.append(np.asarray(res.status)[: part.shape[0]])
    # padding rows were counted as invalid rejections: take them back out
    rej = book.rejections.at[Status.REJECTED_INVALID - FIRST_REJECTION].add(-padding_rows)
    book = book.replace(rejections=rej)
    status_arr = np.concatenate(status).astype(np.int32)[:n]
    return ReplayResult(
        fills=np.concatenate(fills).astype(np.int64).reshape(-1, 4),
        bids=_levels(book, BID),
        asks=_levels(book, ASK),
        rejected=np.flatnonzero(status_arr >= FIRST_REJECTION).astype(np.int64),
        status=status_arr,
        book=book,
    )


__all__ = ["ReplayResult", "replay_messages", "SWEEP_WINDOW"]

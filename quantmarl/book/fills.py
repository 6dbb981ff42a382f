"""Per-message results and the append-only fill log of the CDA kernel.

:class:`MessageResult` says what one message did; :class:`FillChunk` holds one
message's fills; :class:`FillLog` appends them (int64 rows, ``FILL_*`` columns
of :mod:`quantmarl.book.state`), with ``SWEEP_WINDOW`` rows of padding on each
side so a masked window write never needs bounds checks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from quantmarl.book.state import FILL_WIDTH, MSG_ID, MSG_OWNER, MSG_SIDE


@struct.dataclass
class MessageResult:
    """What one message did (add leading axes for batches of messages/books)."""

    status: jax.Array  # int32 [] Status code
    filled: jax.Array  # int64 [] lots executed (taker side)
    notional: jax.Array  # int64 [] sum of fill price (ticks) x fill qty (lots)
    n_fills: jax.Array  # int32 [] resting orders traded against
    rested: jax.Array  # int64 [] lots added to the book
    cancelled: jax.Array  # int64 [] lots removed from the book by cancel/delete


@struct.dataclass
class FillChunk:
    """Fills of one message, in execution order starting at row ``offset``.

    Rows ``offset .. offset + n_fills - 1`` of each array are the fills; the
    other rows are padding. Arrays are the maker side read best-first.
    """

    maker_id: jax.Array  # int64 [cap]
    maker_owner: jax.Array  # int32 [cap]
    price: jax.Array  # int64 [cap] ticks
    qty: jax.Array  # int64 [cap] lots (0 in padding rows)
    offset: jax.Array  # int32 []


@struct.dataclass
class FillLog:
    """Append-only fill log. Fill ``j`` lives in ``rows[pad + j]``."""

    rows: jax.Array  # int64 [pad + max_fills + pad, FILL_WIDTH]: see FILL_* columns
    count: jax.Array  # int64 [] fills recorded (counts on past max_fills: see overflow)
    overflow: jax.Array  # bool [] a message had more fills than the log had room for


SWEEP_WINDOW = 16  # resting orders examined per sweep iteration (and fill-log padding)


def empty_fill_log(max_fills: int) -> FillLog:
    """A log with room for ``max_fills`` fills."""
    rows = jnp.zeros((max_fills + 2 * SWEEP_WINDOW, FILL_WIDTH), jnp.int64)
    return FillLog(rows=rows, count=jnp.zeros((), jnp.int64), overflow=jnp.zeros((), bool))


def log_padding(log: FillLog) -> int:
    """Rows of padding before (and after) the log body."""
    return SWEEP_WINDOW


def fill_log_rows(log: FillLog) -> jax.Array:
    """The ``[max_fills, FILL_WIDTH]`` body of the log (valid up to ``log.count``)."""
    return log.rows[..., SWEEP_WINDOW : log.rows.shape[-2] - SWEEP_WINDOW, :]


def pack_result(res: MessageResult) -> jax.Array:
    """MessageResult -> int64 [..., 6] (one array per scan step is cheaper than six)."""
    return jnp.stack([x.astype(jnp.int64) for x in jax.tree.leaves(res)], axis=-1)


def unpack_result(packed: jax.Array) -> MessageResult:
    """Inverse of :func:`pack_result`."""
    names = ("status", "filled", "notional", "n_fills", "rested", "cancelled")
    dtypes = (jnp.int32, jnp.int64, jnp.int64, jnp.int32, jnp.int64, jnp.int64)
    cols = enumerate(zip(names, dtypes, strict=True))
    return MessageResult(**{n: packed[..., i].astype(d) for i, (n, d) in cols})


def record_fills(log: FillLog, chunk: FillChunk, msg: jax.Array) -> FillLog:
    """Append ``chunk``'s fills to ``log``: a masked read-modify-write of one window."""
    width = chunk.qty.shape[-1]
    n = jnp.sum(chunk.qty > 0)
    pad = log_padding(log)
    max_fills = log.rows.shape[-2] - 2 * pad
    fits = log.count + n <= max_fills
    start = (pad + log.count - chunk.offset).astype(jnp.int32)
    zero = jnp.zeros((), jnp.int32)
    window = lax.dynamic_slice(log.rows, (start, zero), (width, FILL_WIDTH))
    new_rows = jnp.stack(
        [jnp.broadcast_to(msg[MSG_ID], chunk.qty.shape), chunk.maker_id, chunk.price, chunk.qty,
         jnp.broadcast_to(msg[MSG_OWNER], chunk.qty.shape), chunk.maker_owner.astype(jnp.int64),
         jnp.broadcast_to(msg[MSG_SIDE], chunk.qty.shape)],
        axis=1,
    )
    write = (chunk.qty > 0)[:, None] & fits
    rows = lax.dynamic_update_slice(log.rows, jnp.where(write, new_rows, window), (start, zero))
    return log.replace(rows=rows, count=log.count + n, overflow=log.overflow | ~fits)

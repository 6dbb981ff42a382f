"""Order-book state: fixed-capacity, per-side arrays (int64 money, int32 counts).

Layout. Row 0 holds bids, row 1 asks. Each row is a *stack sorted worst to
best*: slots ``0 .. count[s]-1`` are live, slot ``count[s]-1`` is the best
order (highest bid / lowest ask, earliest arrival among equal prices). A fill
consumes orders from the top, so removing filled orders is a counter
decrement; inserting or deleting one order is a static one-slot shift. Every
message therefore costs a fixed number of O(capacity) elementwise passes,
which is what keeps the kernel fast under ``vmap`` (no gathers, no loops whose
length depends on the data). Empty slots hold price 0, qty 0, id -1, owner -1,
seq -1.
"""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
from flax import struct

BID = 0
ASK = 1
EMPTY_ID = -1


class MsgType(enum.IntEnum):
    """Message type codes (column 0 of a message row)."""

    LIMIT = 1
    CANCEL = 2  # reduce a resting order by qty; removed when qty >= remaining
    DELETE = 3
    MARKET = 4


class Status(enum.IntEnum):
    """Per-message outcome. Codes >= ``REJECTED_INVALID`` are rejections."""

    NOOP = -1  # an empty message slot (owner == NOOP_OWNER): no effect, not a rejection
    RESTED = 0  # limit: nothing executed, rests in full
    FILLED = 1  # limit or market: executed in full
    PARTIAL_RESTED = 2  # limit: partly executed, remainder rests
    PARTIAL_DISCARDED = 3  # market: partly executed, remainder discarded (not a rejection)
    DISCARDED = 4  # market: nothing to execute against, discarded (not a rejection)
    REDUCED = 5  # cancel: resting qty reduced, queue place kept
    REMOVED = 6  # cancel with qty >= remaining, or delete: order left the book
    REJECTED_INVALID = 7  # qty <= 0, limit price <= 0, side not +1/-1, unknown type, bad owner
    REJECTED_UNKNOWN_ID = 8  # cancel/delete of an id that is not resting
    REJECTED_DUPLICATE_ID = 9  # limit whose id is already resting (nothing executed)
    REJECTED_BOOK_FULL = 10  # limit remainder could not rest: its side is full (fills stand)


FIRST_REJECTION = int(Status.REJECTED_INVALID)
N_REJECTION_REASONS = sum(1 for s in Status if s >= FIRST_REJECTION)

# Message row columns used by the kernel (int64): type, order_id, side, price, qty, owner.
MSG_TYPE, MSG_ID, MSG_SIDE, MSG_PRICE, MSG_QTY, MSG_OWNER = range(6)
MSG_WIDTH = 6
NOOP_OWNER = -2  # owner value marking an empty message slot (fixed-shape batches of orders)

# Fill log columns (int64): taker_id, maker_id, price, qty, taker_owner, maker_owner, taker_side.
(FILL_TAKER_ID, FILL_MAKER_ID, FILL_PRICE, FILL_QTY, FILL_TAKER_OWNER, FILL_MAKER_OWNER,
 FILL_TAKER_SIDE) = range(7)
FILL_WIDTH = 7


@struct.dataclass
class BookState:
    """One limit order book. Add a leading axis (``vmap``) for many books."""

    price: jax.Array  # int64 [2, cap] ticks
    qty: jax.Array  # int64 [2, cap] remaining lots
    order_id: jax.Array  # int64 [2, cap]
    owner: jax.Array  # int32 [2, cap] agent index (-1 when unknown/empty)
    seq: jax.Array  # int64 [2, cap] arrival sequence number (time priority)
    count: jax.Array  # int32 [2] live orders per side
    next_seq: jax.Array  # int64 [] sequence number of the next resting order
    rejections: jax.Array  # int64 [N_REJECTION_REASONS] rejected messages per reason

    @property
    def capacity(self) -> int:
        """Orders per side (static)."""
        return self.price.shape[-1]


def validate_capacity(capacity: int) -> int:
    """Return ``capacity`` or raise ``ValueError`` (must be an int in [1, 2**20])."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 2**20:
        raise ValueError(f"capacity must be an int in [1, 1048576], got {capacity!r}")
    return capacity


def empty_book(capacity: int = 256) -> BookState:
    """An empty book with ``capacity`` order slots per side."""
    validate_capacity(capacity)
    shape = (2, capacity)
    return BookState(
        price=jnp.zeros(shape, jnp.int64),
        qty=jnp.zeros(shape, jnp.int64),
        order_id=jnp.full(shape, EMPTY_ID, jnp.int64),
        owner=jnp.full(shape, -1, jnp.int32),
        seq=jnp.full(shape, -1, jnp.int64),
        count=jnp.zeros((2,), jnp.int32),
        next_seq=jnp.zeros((), jnp.int64),
        rejections=jnp.zeros((N_REJECTION_REASONS,), jnp.int64),
    )


def book_nbytes(book: BookState) -> int:
    """Bytes held by a book's arrays (all books if batched)."""
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(book))

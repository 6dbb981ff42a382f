"""Pure-Python reference order book: the specification for :mod:`quantmarl.book.cda`.

Price levels are dicts of FIFO deques, best prices come from heaps (with lazy
deletion of emptied levels), and an id index finds orders for cancels. The
rules, which the JAX kernel must reproduce exactly:

* limit (type 1): executes against the opposite side while marketable, best
  price first, oldest first within a price, each fill at the resting order's
  price; the remainder rests at the back of its price's queue. If the side
  already holds ``capacity`` orders the remainder is rejected (fills stand).
* market (type 4): executes like a limit with no price limit; the remainder
  (all of it on an empty side) is discarded, which is not a rejection.
* cancel (type 2): reduces a resting order by qty, keeping its queue place;
  removes it when qty >= remaining. delete (type 3): removes it.
* rejected, with no effect: qty <= 0, limit price <= 0, side not +1/-1,
  unknown type, cancel/delete of an id not resting, limit with an id already
  resting. Ids are unique among resting orders and may be reused afterwards.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

LIMIT, CANCEL, DELETE, MARKET = 1, 2, 3, 4

# Status codes, identical to quantmarl.book.state.Status.
RESTED, FILLED, PARTIAL_RESTED, PARTIAL_DISCARDED, DISCARDED, REDUCED, REMOVED = range(7)
REJECTED_INVALID, REJECTED_UNKNOWN_ID, REJECTED_DUPLICATE_ID, REJECTED_BOOK_FULL = range(7, 11)


@dataclass
class _Order:
    order_id: int
    side: int
    price: int
    qty: int
    owner: int = -1


@dataclass
class RefResult:
    """Outcome of one message."""

    status: int
    fills: list[tuple[int, int, int, int]] = field(default_factory=list)  # taker, maker, px, qty
    rested: int = 0
    cancelled: int = 0

    @property
    def filled(self) -> int:
        return sum(f[3] for f in self.fills)


class RefBook:
    """A price-time priority limit order book holding at most ``capacity`` orders per side."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        self.levels: dict[int, dict[int, deque[_Order]]] = {1: {}, -1: {}}
        self.heaps: dict[int, list[int]] = {1: [], -1: []}  # bids store -price
        self.orders: dict[int, _Order] = {}
        self.count = {1: 0, -1: 0}

    # ----- queries -----
    def best(self, side: int) -> int | None:
        """Best price on ``side`` (+1 bids, -1 asks), or None."""
        heap, levels = self.heaps[side], self.levels[side]
        while heap:
            price = -heap[0] if side == 1 else heap[0]
            if levels.get(price):
                return price
            heapq.heappop(heap)
            levels.pop(price, None)
        return None

    def ladder(self, side: int) -> list[tuple[int, int]]:
        """``[(price, total qty)]`` best first."""
        levels = [(p, sum(o.qty for o in q)) for p, q in self.levels[side].items() if q]
        return sorted(levels, key=lambda pq: -pq[0] if side == 1 else pq[0])

    def queue(self, side: int) -> list[_Order]:
        """All resting orders on ``side`` in priority order (best first)."""
        return [o for p, _ in self.ladder(side) for o in self.levels[side][p]]

    # ----- messages -----
    def process(
        self, typ: int, order_id: int, side: int, price: int, qty: int, owner: int = -1
    ) -> RefResult:
        """Apply one message and say what it did."""
        if typ not in (LIMIT, CANCEL, DELETE, MARKET) or side not in (1, -1) or qty <= 0:
            return RefResult(REJECTED_INVALID)
        if typ == LIMIT and price <= 0:
            return RefResult(REJECTED_INVALID)
        if typ in (CANCEL, DELETE):
            return self._modify(typ, order_id, qty)
        if typ == LIMIT and order_id in self.orders:
            return RefResult(REJECTED_DUPLICATE_ID)
        fills = self._match(order_id, side, None if typ == MARKET else price, qty)
        remainder = qty - sum(f[3] for f in fills)
        if typ == MARKET:
            status = FILLED if remainder == 0 else DISCARDED if not fills else PARTIAL_DISCARDED
            return RefResult(status, fills)
        if remainder == 0:
            return RefResult(FILLED, fills)
        if self.capacity is not None and self.count[side] >= self.capacity:
            return RefResult(REJECTED_BOOK_FULL, fills)
        self._rest(_Order(order_id, side, price, remainder, owner))
        return RefResult(PARTIAL_RESTED if fills else RESTED, fills, rested=remainder)

    def _match(self, taker_id: int, side: int, limit: int | None, qty: int) -> list:
        fills = []
        opp = -side
        while qty > 0:
            best = self.best(opp)
            if best is None:
                break
            if limit is not None and (best > limit if side == 1 else best < limit):
                break
            queue = self.levels[opp][best]
            maker = queue[0]
            traded = min(qty, maker.qty)
            fills.append((taker_id, maker.order_id, best, traded))
            qty -= traded
            maker.qty -= traded
            if maker.qty == 0:
                queue.popleft()
                del self.orders[maker.order_id]
                self.count[opp] -= 1
        return fills

    def _rest(self, order: _Order) -> None:
        levels = self.levels[order.side]
        if not levels.get(order.price):
            levels[order.price] = deque()
            heapq.heappush(self.heaps[order.side], -order.price if order.side == 1 else order.price)
        levels[order.price].append(order)
        self.orders[order.order_id] = order
        self.count[order.side] += 1

    def _modify(self, typ: int, order_id: int, qty: int) -> RefResult:
        order = self.orders.get(order_id)
        if order is None:
            return RefResult(REJECTED_UNKNOWN_ID)
        if typ == CANCEL and qty < order.qty:
            order.qty -= qty
            return RefResult(REDUCED, cancelled=qty)
        removed = order.qty
        self.levels[order.side][order.price].remove(order)
        del self.orders[order_id]
        self.count[order.side] -= 1
        return RefResult(REMOVED, cancelled=removed)


def ref_replay(messages, capacity: int | None = None):
    """Run rows ``(type, id, side, price, qty)`` through :class:`RefBook`.

    Returns ``(fills, bids, asks, rejected, results)`` as plain Python lists,
    in the shape of :func:`quantmarl.book.replay_messages`' result.
    """
    book = RefBook(capacity)
    fills, rejected, results = [], [], []
    for i, row in enumerate(messages):
        typ, oid, side, price, qty = (int(v) for v in row[:5])
        res = book.process(typ, oid, side, price, qty)
        fills.extend(res.fills)
        results.append(res)
        if res.status >= REJECTED_INVALID:
            rejected.append(i)
    return fills, book.ladder(1), book.ladder(-1), rejected, results

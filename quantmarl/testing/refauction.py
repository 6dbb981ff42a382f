"""Pure-Python reference for :func:`quantmarl.book.auction.clear` (the spec, not fast).

Brute force: every integer price in the band is tried, demand and supply are
summed over the orders directly, and the willing orders of each side are
allocated by explicitly sorting them by (price priority, submission index).
Plain ints and lists only.
"""

from __future__ import annotations

from collections.abc import Sequence

FILLED, PARTIAL, UNFILLED, REJECTED_INVALID = 0, 1, 2, 3
MARKET = 0


def _valid(s: int, p: int, q: int) -> bool:
    return s in (1, -1) and q > 0 and p >= 0


def ref_clear(
    side: Sequence[int],
    price: Sequence[int],
    qty: Sequence[int],
    ref_price: int,
    band: int = 512,
) -> dict:
    """Reference batch auction; returns ``dict(price, volume, filled, status, demand, supply)``.

    Same rules as :func:`quantmarl.book.auction.clear`: price band
    ``[max(1, ref - band), ref + band]``; maximise ``min(D, S)``, then minimise
    ``|D - S|``, then ``|p - ref|``, then ``p``; allocation by price priority
    (market orders first, limits beyond the band counted at the band edge),
    then submission index.
    """
    side, price, qty = [int(x) for x in side], [int(x) for x in price], [int(x) for x in qty]
    ref_price, n = int(ref_price), len(side)
    ok = [_valid(side[i], price[i], qty[i]) for i in range(n)]
    buys = [i for i in range(n) if ok[i] and side[i] == 1]
    sells = [i for i in range(n) if ok[i] and side[i] == -1]

    def buy_willing(i: int, p: int) -> bool:
        return price[i] == MARKET or price[i] >= p

    def sell_willing(i: int, p: int) -> bool:
        return price[i] == MARKET or price[i] <= p

    def demand(p: int) -> int:
        return sum(qty[i] for i in buys if buy_willing(i, p))

    def supply(p: int) -> int:
        return sum(qty[i] for i in sells if sell_willing(i, p))

    best = None  # (sort key, p)
    for p in range(max(1, ref_price - band), ref_price + band + 1):
        d, s = demand(p), supply(p)
        key = (-min(d, s), abs(d - s), abs(p - ref_price), p)
        if best is None or key < best[0]:
            best = (key, p)

    filled = [0] * n
    if best is None or best[0][0] == 0:  # nothing can trade
        p_star, volume = ref_price, 0
    else:
        p_star, volume = best[1], -best[0][0]
        lo, hi = ref_price - band, ref_price + band
        # Price priority: smaller key = better. Market first; limits clipped to the band.
        buy_key = {i: -hi - 1 if price[i] == MARKET else -min(price[i], hi) for i in buys}
        sell_key = {i: lo - 1 if price[i] == MARKET else max(price[i], lo) for i in sells}
        for orders, key, willing in (
            (buys, buy_key, buy_willing),
            (sells, sell_key, sell_willing),
        ):
            left = volume
            for i in sorted((i for i in orders if willing(i, p_star)), key=lambda i: (key[i], i)):
                take = min(qty[i], left)
                filled[i] = take
                left -= take
            assert left == 0

    status = []
    for i in range(n):
        if not ok[i]:
            status.append(REJECTED_INVALID)
        elif filled[i] == qty[i]:
            status.append(FILLED)
        elif filled[i] > 0:
            status.append(PARTIAL)
        else:
            status.append(UNFILLED)
    return {
        "price": p_star,
        "volume": volume,
        "filled": filled,
        "status": status,
        "demand": demand(p_star),
        "supply": supply(p_star),
    }

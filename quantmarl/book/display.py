"""Plain-text views of a book, for terminals and logs (numpy in, str out)."""

from __future__ import annotations

import numpy as np


def format_ladder(bids: np.ndarray, asks: np.ndarray, depth: int = 8, width: int = 30) -> str:
    """Render ``(levels, 2)`` price/qty ladders (best first) as a two-sided text ladder.

    Asks are printed above bids, best prices in the middle, with a bar whose
    length is proportional to the level's quantity.
    """
    bids, asks = np.asarray(bids)[:depth], np.asarray(asks)[:depth]
    biggest = max([1, *bids[:, 1].tolist(), *asks[:, 1].tolist()])

    def line(label: str, price: int, qty: int) -> str:
        bar = "#" * max(1, round(width * qty / biggest))
        return f"  {label} {price:>12,d} {qty:>12,d}  {bar}"

    out = [f"  {'side':3} {'price (ticks)':>12} {'qty (lots)':>12}"]
    out += [line("ask", int(p), int(q)) for p, q in asks[::-1]]
    if len(bids) and len(asks):
        out.append(f"  {'':3} {'spread ' + str(int(asks[0, 0] - bids[0, 0])):>12}")
    else:
        out.append(f"  {'':3} {'(one side empty)':>25}")
    out += [line("bid", int(p), int(q)) for p, q in bids]
    return "\n".join(out)

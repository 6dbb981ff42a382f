"""Terminal views of a running market (numpy in, str out)."""

from __future__ import annotations

import numpy as np

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values, width: int = 60) -> str:
    """A one-line chart of the last ``width`` values."""
    v = np.asarray(values, np.float64)[-width:]
    if v.size == 0:
        return ""
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return BARS[0] * v.size
    idx = np.round((v - lo) / (hi - lo) * (len(BARS) - 1)).astype(int)
    return "".join(BARS[i] for i in idx)


def market_panel(
    step: int, close, fundamental, volume, spread, depth, halted, extra: str = ""
) -> str:
    """A small dashboard for asset 0: price chart, last price, fundamental, spread, depth."""
    close = np.asarray(close)
    lines = [
        f"step {step:>6d}   price {int(close[-1]):>9,d} ticks   fundamental "
        f"{int(np.asarray(fundamental)[-1]):>9,d}   volume {int(np.asarray(volume)[-1]):>9,d}",
        f"spread {int(np.asarray(spread)[-1]):>4d}   depth bid/ask "
        f"{int(np.asarray(depth)[-1][0]):>8,d} / {int(np.asarray(depth)[-1][1]):<8,d}"
        f"   {'HALTED' if bool(np.asarray(halted)[-1]) else 'trading'}",
        f"price  {int(close.min()):>9,d} {sparkline(close)} {int(close.max()):,d}",
    ]
    if extra:
        lines.append(extra)
    return "\n".join(lines)

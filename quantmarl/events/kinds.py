"""Event kinds: the ``EventKind`` codes and one :class:`EventKindSpec` record per kind.

The table :data:`EVENT_KINDS` is the one description of what each kind's
magnitude means and which values it may take; the host-side constructors
(:mod:`quantmarl.events.schedule`) and the jittable
:func:`~quantmarl.events.schedule.event_is_valid` both check against it.

Magnitudes are float32 statistics (never money):

=================  ==========  ============================================  ==============
kind               name        meaning                                       allowed
=================  ==========  ============================================  ==============
flash crash/rally  magnitude   fractional price move over the whole event    ``(0, 1)``
volatility spike   multiplier  multiplier on fundamental volatility          ``[1, inf)``
liquidity shock    multiplier  multiplier on market-maker spreads            ``[1, inf)``
news               jump        fractional jump of the fundamental (signed)   ``(-1, inf)``
sell program       lots        lots sold at market every step (an integer)   ``[1, 2**24]``
=================  ==========  ============================================  ==============

News always lasts one step (``duration == 1``). A sell program scripts a quantity, not a
price path: how far the price falls is up to the book and the traders who meet it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from quantmarl._validate import range_text

__all__ = ["EVENT_KINDS", "EventKind", "EventKindSpec", "kind_codes_text"]


class EventKind(enum.IntEnum):
    """Event type codes (int32). ``NONE`` marks an empty schedule row."""

    NONE = 0
    FLASH_CRASH = 1
    VOLATILITY_SPIKE = 2
    LIQUIDITY_SHOCK = 3
    NEWS = 4
    FLASH_RALLY = 5
    SELL_PROGRAM = 6


@dataclass(frozen=True)
class EventKindSpec:
    """What one event kind's magnitude is and which values it may take."""

    kind: EventKind
    constructor: str  # name of the building function in quantmarl.events ("flash_crash")
    magnitude_name: str  # the constructor's name for the magnitude ("multiplier")
    meaning: str  # what the magnitude measures ("volatility multiplier")
    lo: float  # lower bound of the magnitude (finite)
    lo_open: bool  # the lower bound itself is refused
    hi: float = math.inf  # upper bound (inf = none)
    hi_open: bool = True  # the upper bound itself is refused (always, when infinite)
    single_step: bool = False  # duration must be exactly 1 step
    integer: bool = False  # the magnitude must be a whole number (lots)

    def magnitude_ok(self, m):
        """``m`` within the bounds (works on Python floats and on float32 arrays under jit);
        infinite bounds add no comparison (finiteness is checked separately)."""
        ok = m > self.lo if self.lo_open else m >= self.lo
        if math.isfinite(self.hi):
            ok = ok & (m < self.hi if self.hi_open else m <= self.hi)
        if self.integer:
            ok = ok & (m == m // 1)
        return ok

    def range_text(self) -> str:
        """The allowed magnitudes as an interval, e.g. ``(0, 1)`` or ``[1, inf)``."""
        return range_text(self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open,
                          fmt=".0f" if self.integer else "g")


def _spec(kind: EventKind, constructor: str, name: str, meaning: str, lo: float, lo_open: bool,
          **kw) -> tuple[EventKind, EventKindSpec]:
    return kind, EventKindSpec(kind, constructor, name, meaning, lo, lo_open, **kw)


EVENT_KINDS: dict[EventKind, EventKindSpec] = dict([
    _spec(EventKind.FLASH_CRASH, "flash_crash", "magnitude", "fractional price move", 0.0, True,
          hi=1.0, hi_open=True),
    _spec(EventKind.VOLATILITY_SPIKE, "volatility_spike", "multiplier", "volatility multiplier",
          1.0, False),
    _spec(EventKind.LIQUIDITY_SHOCK, "liquidity_shock", "multiplier", "spread multiplier", 1.0,
          False),
    _spec(EventKind.NEWS, "news_event", "jump", "fractional fundamental jump", -1.0, True,
          single_step=True),
    _spec(EventKind.FLASH_RALLY, "flash_rally", "magnitude", "fractional price move", 0.0, True,
          hi=1.0, hi_open=True),
    _spec(EventKind.SELL_PROGRAM, "sell_program", "lots", "lots sold at market per step", 1.0,
          False, hi=float(2**24), hi_open=False, integer=True),
])


def kind_codes_text() -> str:
    """The valid kind codes as an interval, e.g. ``[1, 5]``."""
    return range_text(int(min(EVENT_KINDS)), int(max(EVENT_KINDS)))

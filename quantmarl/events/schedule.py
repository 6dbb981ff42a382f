"""Scheduled stress events: a fixed-capacity, vmappable table.

An :class:`EventSchedule` holds ``E`` rows (``E`` static, the table's
*capacity*); a row whose ``kind`` is :attr:`EventKind.NONE` is empty. Events
are built on the host by the validating constructors (:func:`flash_crash`,
:func:`volatility_spike`, :func:`liquidity_shock`, :func:`news_event`, :func:`sell_program`,
:func:`flash_rally`), packed with :func:`make_schedule`, and may also be
written into a schedule at any step, inside ``jit``, with :func:`inject`.

Timing. An event acts on the steps ``start <= step < start + duration``
(``duration >= 1`` steps); see :func:`quantmarl.events.effects.effects_at` for
how active events turn into per-asset effects.

Magnitudes are float32 statistics (never money): a fractional price move for
flash crashes and rallies, a multiplier for volatility spikes and liquidity
shocks, a signed fractional jump for news (always ``duration == 1``); the
allowed ranges are in :data:`quantmarl.events.kinds.EVENT_KINDS`.

``asset`` is an asset index, or ``-1`` for all assets. An index at or beyond
the market's asset count affects nothing (pass ``n_assets`` to
:func:`make_schedule` to refuse such events on the host).

Errors. The constructors and :func:`make_schedule` raise ``ValueError`` naming
the field, the value and the allowed range. :func:`inject` runs under ``jit``
and cannot raise: it returns a ``dropped`` flag instead (table full or event
invalid), so the caller can count what was lost -- never silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl._validate import check_int
from quantmarl.events.kinds import EVENT_KINDS, EventKind, EventKindSpec, kind_codes_text

__all__ = [
    "Event",
    "EventKind",
    "EventSchedule",
    "empty_schedule",
    "event_is_valid",
    "expire",
    "expire_events",
    "flash_crash",
    "flash_rally",
    "inject",
    "liquidity_shock",
    "make_schedule",
    "news_event",
    "sell_program",
    "validate_event",
    "volatility_spike",
]

_INT32_MAX = 2**31 - 1
_MAX_CAPACITY = 1 << 16


@struct.dataclass
class Event:
    """One event (a single schedule row). Fields are 0-d arrays; may be traced."""

    kind: jax.Array  # int32 [] EventKind code
    start: jax.Array  # int32 [] first step the event acts
    duration: jax.Array  # int32 [] steps the event acts (>= 1)
    magnitude: jax.Array  # float32 [] fraction or multiplier by kind (EVENT_KINDS)
    asset: jax.Array  # int32 [] asset index, or -1 for all assets


@struct.dataclass
class EventSchedule:
    """Fixed-capacity event table. Add a leading axis (``vmap``) for many markets."""

    kind: jax.Array  # int32 [E] EventKind code; NONE = empty row
    start: jax.Array  # int32 [E] first step the event acts
    duration: jax.Array  # int32 [E] steps (>= 1)
    magnitude: jax.Array  # float32 [E] fraction or multiplier by kind (EVENT_KINDS)
    asset: jax.Array  # int32 [E] asset index, or -1 for all assets

    @property
    def capacity(self) -> int:
        """Rows in the table (static)."""
        return self.kind.shape[-1]


# ----------------------------------------------------------------------------- validation

_INT_RANGE = {
    "start": f"an int in [0, {_INT32_MAX - 1}] steps",
    "duration": f"an int in [1, {_INT32_MAX}] steps",
    "asset": "an int >= 0 (asset index) or -1 (all assets), i.e. in [-1, inf)",
    "kind": f"an EventKind code in {kind_codes_text()}",
}


def _as_int(where: str, name: str, value: object) -> int:
    bad = ValueError(f"{where}: {name} must be {_INT_RANGE[name]}, got {value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise bad
    if isinstance(value, (int, np.integer)):
        return int(value)
    arr = np.asarray(value)
    if arr.shape == () and np.issubdtype(arr.dtype, np.integer):
        return int(arr)
    raise bad


def _magnitude_error(where: str, spec: EventKindSpec, value: object, what: str) -> ValueError:
    return ValueError(
        f"{where}: {spec.magnitude_name} ({spec.meaning}) must be "
        f"{'a whole number ' if spec.integer else ''}{what}{spec.range_text()}, got {value!r}"
    )


def _as_float(where: str, spec: EventKindSpec, value: object) -> float:
    """Python float (range checked later; NaN and inf fail the range check)."""
    bad = _magnitude_error(where, spec, value, "a float in ")
    if isinstance(value, (bool, np.bool_)):
        raise bad
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - exotic inputs
        raise bad from err
    if arr.shape != () or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise bad
    return float(arr)


def _check_fields(
    where: str, spec: EventKindSpec, magnitude: float, duration: int, start: int, asset: int
) -> None:
    # The table stores float32: check the value that will actually be stored.
    with np.errstate(over="ignore"):  # beyond float32 range -> inf, refused below
        m32 = float(np.float32(magnitude))
    if not spec.magnitude_ok(m32) or not math.isfinite(m32):
        raise _magnitude_error(where, spec, magnitude, "in ")
    if not 0 <= start <= _INT32_MAX - 1:
        raise ValueError(f"{where}: start must be {_INT_RANGE['start']}, got {start}")
    if spec.single_step:
        if duration != 1:
            kind_text = spec.kind.name.lower().replace("_", " ")
            raise ValueError(
                f"{where}: duration must be 1 for a {kind_text} event, got {duration}"
            )
    elif not 1 <= duration <= _INT32_MAX - start:
        raise ValueError(
            f"{where}: duration must be in [1, {_INT32_MAX - start}] steps "
            f"(start + duration must fit in int32), got {duration}"
        )
    if asset < -1:
        raise ValueError(f"{where}: asset must be {_INT_RANGE['asset']}, got {asset}")


def _make(
    kind: EventKind, magnitude: object, duration: object, start: object, asset: object
) -> Event:
    """A validated event; errors name the kind's constructor (``flash_crash: ...``)."""
    spec = EVENT_KINDS[kind]
    where = spec.constructor
    m = _as_float(where, spec, magnitude)
    d = _as_int(where, "duration", duration)
    s = _as_int(where, "start", start)
    a = _as_int(where, "asset", asset)
    _check_fields(where, spec, m, d, s, a)
    return Event(
        kind=jnp.asarray(int(kind), jnp.int32),
        start=jnp.asarray(s, jnp.int32),
        duration=jnp.asarray(d, jnp.int32),
        magnitude=jnp.asarray(m, jnp.float32),
        asset=jnp.asarray(a, jnp.int32),
    )


def validate_event(event: Event, n_assets: int | None = None) -> Event:
    """Return ``event`` or raise ``ValueError`` (host-side; concrete values only).

    Applies the same checks as the constructors; with ``n_assets`` also
    requires ``asset < n_assets``.
    """
    if not isinstance(event, Event):
        raise ValueError(f"event must be an Event (see flash_crash & co.), got {event!r}")
    k = _as_int("event", "kind", event.kind)
    if k not in EVENT_KINDS:
        raise ValueError(f"event: kind must be {_INT_RANGE['kind']}, got {k}")
    spec = EVENT_KINDS[EventKind(k)]
    where = spec.kind.name.lower()
    m = _as_float(where, spec, event.magnitude)
    d = _as_int(where, "duration", event.duration)
    s = _as_int(where, "start", event.start)
    a = _as_int(where, "asset", event.asset)
    _check_fields(where, spec, m, d, s, a)
    if n_assets is not None and a >= n_assets:
        raise ValueError(
            f"{where}: asset must be in [-1, {n_assets - 1}] (n_assets={n_assets}), got {a}"
        )
    return event


# ----------------------------------------------------------------------------- constructors


def flash_crash(magnitude: float, duration: int, start: int, asset: int = -1) -> Event:
    """Flash crash: sell pressure pushing the price down by ``magnitude`` (in (0, 1))
    in total, spread evenly over ``duration`` steps from ``start``; market makers
    withdraw while it lasts."""
    return _make(EventKind.FLASH_CRASH, magnitude, duration, start, asset)


def flash_rally(magnitude: float, duration: int, start: int, asset: int = -1) -> Event:
    """Flash rally: the mirror of :func:`flash_crash` (buy pressure, price up by
    ``magnitude`` in (0, 1) in total over ``duration`` steps)."""
    return _make(EventKind.FLASH_RALLY, magnitude, duration, start, asset)


def volatility_spike(multiplier: float, duration: int, start: int, asset: int = -1) -> Event:
    """Volatility spike: fundamental volatility and background order-size
    dispersion times ``multiplier`` (>= 1) for ``duration`` steps."""
    return _make(EventKind.VOLATILITY_SPIKE, multiplier, duration, start, asset)


def liquidity_shock(multiplier: float, duration: int, start: int, asset: int = -1) -> Event:
    """Liquidity shock: market-maker spreads times ``multiplier`` (>= 1) and
    background limit-order arrival divided by it, for ``duration`` steps."""
    return _make(EventKind.LIQUIDITY_SHOCK, multiplier, duration, start, asset)


def sell_program(lots: float, duration: int, start: int, asset: int = -1) -> Event:
    """Sell program: a seller sends a market sell of ``lots`` (a whole number >= 1) every
    step for ``duration`` steps from ``start``. Only the quantity is scripted; the price
    path is the market's (a stress with no target). Add a :func:`news_event` at its end
    for an informed seller."""
    return _make(EventKind.SELL_PROGRAM, lots, duration, start, asset)


def news_event(jump: float, start: int, asset: int = -1) -> Event:
    """News: the fundamental value jumps by the fraction ``jump`` (> -1, signed)
    at step ``start`` (duration 1)."""
    return _make(EventKind.NEWS, jump, 1, start, asset)


# ----------------------------------------------------------------------------- tables


def _check_capacity(capacity: object) -> int:
    return check_int("capacity", capacity, 1, _MAX_CAPACITY, allow_numpy=False)


def empty_schedule(capacity: int = 8) -> EventSchedule:
    """A schedule with ``capacity`` empty rows (kind NONE, zeros elsewhere, asset -1)."""
    capacity = _check_capacity(capacity)
    return EventSchedule(
        kind=jnp.zeros((capacity,), jnp.int32),
        start=jnp.zeros((capacity,), jnp.int32),
        duration=jnp.zeros((capacity,), jnp.int32),
        magnitude=jnp.zeros((capacity,), jnp.float32),
        asset=jnp.full((capacity,), -1, jnp.int32),
    )


def make_schedule(
    events: Sequence[Event], capacity: int = 8, n_assets: int | None = None
) -> EventSchedule:
    """Pack ``events`` (in order) into rows ``0..len(events)-1`` of a new schedule.

    Raises ``ValueError`` if there are more events than ``capacity``, if an event
    fails validation, or (with ``n_assets``) if an event names a missing asset.
    """
    capacity = _check_capacity(capacity)
    events = list(events)
    if len(events) > capacity:
        raise ValueError(
            f"events: {len(events)} events do not fit a schedule of capacity {capacity} "
            f"(allowed: at most {capacity}); raise capacity"
        )
    if n_assets is not None:
        check_int("n_assets", n_assets, 1, allow_numpy=False)
    kind = np.zeros((capacity,), np.int32)
    start = np.zeros((capacity,), np.int32)
    duration = np.zeros((capacity,), np.int32)
    magnitude = np.zeros((capacity,), np.float32)
    asset = np.full((capacity,), -1, np.int32)
    for i, ev in enumerate(events):
        validate_event(ev, n_assets)
        kind[i] = int(np.asarray(ev.kind))
        start[i] = int(np.asarray(ev.start))
        duration[i] = int(np.asarray(ev.duration))
        magnitude[i] = np.float32(np.asarray(ev.magnitude))
        asset[i] = int(np.asarray(ev.asset))
    return EventSchedule(
        kind=jnp.asarray(kind),
        start=jnp.asarray(start),
        duration=jnp.asarray(duration),
        magnitude=jnp.asarray(magnitude),
        asset=jnp.asarray(asset),
    )


def event_is_valid(event: Event) -> jax.Array:
    """bool ``[]``: the jittable form of the constructors' checks (kind NONE is invalid).

    The magnitude and duration checks come from :data:`~quantmarl.events.kinds.EVENT_KINDS`.
    """
    kind = jnp.asarray(event.kind, jnp.int32)
    start = jnp.asarray(event.start).astype(jnp.int64)
    duration = jnp.asarray(event.duration).astype(jnp.int64)
    m = jnp.asarray(event.magnitude, jnp.float32)
    asset = jnp.asarray(event.asset).astype(jnp.int64)
    specs = tuple(EVENT_KINDS.values())
    mag_ok = jnp.select(
        [kind == spec.kind for spec in specs],
        [spec.magnitude_ok(m) for spec in specs],
        default=False,
    )
    single_step = jnp.zeros((), jnp.bool_)
    for spec in specs:
        if spec.single_step:
            single_step = single_step | (kind == spec.kind)
    return (
        mag_ok
        & jnp.isfinite(m)
        & (start >= 0)
        & (duration >= 1)
        & (start + duration <= _INT32_MAX)
        & (~single_step | (duration == 1))
        & (asset >= -1)
    )


def inject(schedule: EventSchedule, event: Event) -> tuple[EventSchedule, jax.Array]:
    """Write ``event`` into the first empty row of ``schedule`` (jittable, vmappable).

    Returns ``(schedule, dropped)``. ``dropped`` (bool ``[]``) is True when the
    event was *not* written: no row was empty, or the event failed
    :func:`event_is_valid` (bad magnitude, duration, start or asset); the
    schedule is then returned unchanged. Injecting an event of kind ``NONE`` is
    a no-op and is not counted as dropped (so callers may inject a masked,
    possibly-empty event every step). Events may start in the past: they act
    for the remaining part of their window.
    """
    kind = jnp.asarray(event.kind, jnp.int32)
    empty = schedule.kind == EventKind.NONE  # [E]
    has_room = jnp.any(empty)
    slot = jnp.argmax(empty)  # first empty row (0 when none; masked below)
    wanted = kind != EventKind.NONE
    write = wanted & has_room & event_is_valid(event)
    row = (jnp.arange(schedule.capacity) == slot) & write  # [E]
    new = EventSchedule(
        kind=jnp.where(row, kind, schedule.kind),
        start=jnp.where(row, jnp.asarray(event.start).astype(jnp.int32), schedule.start),
        duration=jnp.where(row, jnp.asarray(event.duration).astype(jnp.int32), schedule.duration),
        magnitude=jnp.where(
            row, jnp.asarray(event.magnitude).astype(jnp.float32), schedule.magnitude
        ),
        asset=jnp.where(row, jnp.asarray(event.asset).astype(jnp.int32), schedule.asset),
    )
    return new, wanted & ~write


def expire_events(schedule: EventSchedule, step: jax.Array | int) -> EventSchedule:
    """Empty the rows of events that have finished (``start + duration <= step``).

    Jittable; call it once per step (or now and then) so that :func:`inject`
    finds free rows again. Finished events have no effect either way.
    """
    step = jnp.asarray(step).astype(jnp.int64)
    end = schedule.start.astype(jnp.int64) + schedule.duration.astype(jnp.int64)
    done = (schedule.kind != EventKind.NONE) & (end <= step)
    return EventSchedule(
        kind=jnp.where(done, jnp.int32(EventKind.NONE), schedule.kind),
        start=jnp.where(done, 0, schedule.start),
        duration=jnp.where(done, 0, schedule.duration),
        magnitude=jnp.where(done, jnp.float32(0), schedule.magnitude),
        asset=jnp.where(done, -1, schedule.asset),
    )


expire = expire_events  # the former name, kept for existing callers

"""Event schedule: constructors, validation, packing, jittable inject and expire."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.events import (
    Event,
    EventKind,
    EventSchedule,
    empty_schedule,
    event_is_valid,
    expire,
    expire_events,
    flash_crash,
    flash_rally,
    inject,
    liquidity_shock,
    make_schedule,
    news_event,
    validate_event,
    volatility_spike,
)


def rows(s: EventSchedule) -> list[tuple]:
    """Schedule -> list of (kind, start, duration, magnitude, asset) Python tuples."""
    return [
        (int(k), int(st), int(d), float(m), int(a))
        for k, st, d, m, a in zip(
            np.asarray(s.kind),
            np.asarray(s.start),
            np.asarray(s.duration),
            np.asarray(s.magnitude),
            np.asarray(s.asset),
            strict=True,
        )
    ]


def event(kind, start, duration, magnitude, asset) -> Event:
    """Raw (unvalidated) event, as a market step could build it from traced values."""
    return Event(
        kind=jnp.int32(kind),
        start=jnp.int32(start),
        duration=jnp.int32(duration),
        magnitude=jnp.float32(magnitude),
        asset=jnp.int32(asset),
    )


F32 = lambda x: float(np.float32(x))
EMPTY = (0, 0, 0, 0.0, -1)


def test_constructors_fields_and_dtypes():
    cases = [
        (flash_crash(0.1, 5, 10), (1, 10, 5, F32(0.1), -1)),
        (volatility_spike(3.0, 20, 0, asset=2), (2, 0, 20, 3.0, 2)),
        (liquidity_shock(1.0, 1, 7), (3, 7, 1, 1.0, -1)),
        (news_event(-0.05, 4, asset=0), (4, 4, 1, F32(-0.05), 0)),
        (flash_rally(0.2, 3, 1, asset=1), (5, 1, 3, F32(0.2), 1)),
    ]
    for ev, want in cases:
        assert ev.kind.dtype == jnp.int32 and ev.start.dtype == jnp.int32
        assert ev.duration.dtype == jnp.int32 and ev.asset.dtype == jnp.int32
        assert ev.magnitude.dtype == jnp.float32
        got = (int(ev.kind), int(ev.start), int(ev.duration), float(ev.magnitude), int(ev.asset))
        assert got == want
        assert bool(event_is_valid(ev))
        assert validate_event(ev) is ev


@pytest.mark.parametrize(
    ("build", "field", "value_text"),
    [
        (lambda: flash_crash(1.0, 5, 0), "magnitude", "1.0"),
        (lambda: flash_crash(0.0, 5, 0), "magnitude", "0.0"),
        (lambda: flash_crash(-0.1, 5, 0), "magnitude", "-0.1"),
        (lambda: flash_crash(float("nan"), 5, 0), "magnitude", "nan"),
        (lambda: flash_crash(0.1, 0, 0), "duration", "0"),
        (lambda: flash_crash(0.1, 5, -1), "start", "-1"),
        (lambda: flash_crash(0.1, 5, 0, asset=-2), "asset", "-2"),
        (lambda: flash_crash(0.1, True, 0), "duration", "True"),
        (lambda: flash_crash(0.1, 2.5, 0), "duration", "2.5"),
        (lambda: flash_crash(0.1, 5, 2**31 - 3), "duration", "5"),
        (lambda: flash_rally(1.5, 5, 0), "magnitude", "1.5"),
        (lambda: volatility_spike(0.5, 5, 0), "multiplier", "0.5"),
        (lambda: volatility_spike(float("inf"), 5, 0), "multiplier", "inf"),
        (lambda: volatility_spike(1e40, 5, 0), "multiplier", "1e+40"),
        (lambda: liquidity_shock(0.99, 5, 0), "multiplier", "0.99"),
        (lambda: news_event(-1.0, 0), "jump", "-1.0"),
        (lambda: news_event(-1.5, 0), "jump", "-1.5"),
        (lambda: news_event(0.1, -3), "start", "-3"),
    ],
)
def test_constructor_errors_name_field_value_and_range(build, field, value_text):
    with pytest.raises(ValueError) as info:
        build()
    msg = str(info.value)
    assert field in msg
    assert value_text in msg
    assert "[" in msg or "(" in msg  # an allowed range is quoted


def test_float32_rounding_is_checked():
    # 0.999999999 rounds to float32 1.0, which is outside (0, 1).
    with pytest.raises(ValueError, match="magnitude"):
        flash_crash(0.999999999, 5, 0)


def test_make_schedule_packs_in_order():
    evs = [flash_crash(0.1, 5, 10), news_event(0.05, 3, asset=1), liquidity_shock(2.0, 4, 0)]
    s = make_schedule(evs, capacity=5)
    assert s.capacity == 5
    assert s.kind.dtype == jnp.int32 and s.magnitude.dtype == jnp.float32
    assert rows(s) == [
        (1, 10, 5, F32(0.1), -1),
        (4, 3, 1, F32(0.05), 1),
        (3, 0, 4, 2.0, -1),
        EMPTY,
        EMPTY,
    ]
    assert rows(make_schedule([], capacity=2)) == [EMPTY, EMPTY]
    assert rows(empty_schedule(3)) == [EMPTY] * 3


def test_make_schedule_errors():
    evs = [flash_crash(0.1, 5, 0)] * 3
    with pytest.raises(ValueError, match=r"3 events.*capacity 2"):
        make_schedule(evs, capacity=2)
    with pytest.raises(ValueError, match="capacity"):
        make_schedule([], capacity=0)
    with pytest.raises(ValueError, match="capacity"):
        empty_schedule(2.0)
    with pytest.raises(ValueError, match=r"asset must be in \[-1, 1\].*got 2"):
        make_schedule([flash_crash(0.1, 5, 0, asset=2)], n_assets=2)
    make_schedule([flash_crash(0.1, 5, 0, asset=1)], n_assets=2)  # fits
    with pytest.raises(ValueError, match="duration"):
        make_schedule([event(1, 0, 0, 0.1, -1)])  # hand-built, invalid
    with pytest.raises(ValueError, match="kind"):
        make_schedule([event(0, 0, 1, 0.1, -1)])
    with pytest.raises(ValueError, match="Event"):
        make_schedule([(1, 0, 5, 0.1, -1)])


inject_jit = jax.jit(inject)


@pytest.mark.parametrize("fn", [inject, inject_jit], ids=["eager", "jit"])
def test_inject_fills_first_empty_row(fn):
    s = make_schedule([flash_crash(0.1, 5, 10)], capacity=3)
    s, dropped = fn(s, news_event(0.05, 3, asset=1))
    assert not bool(dropped)
    assert rows(s) == [(1, 10, 5, F32(0.1), -1), (4, 3, 1, F32(0.05), 1), EMPTY]
    # A hole in the middle is filled before the tail.
    s = EventSchedule(
        kind=s.kind.at[0].set(0), start=s.start, duration=s.duration,
        magnitude=s.magnitude, asset=s.asset,
    )  # fmt: skip
    s, dropped = fn(s, volatility_spike(2.0, 4, 1))
    assert not bool(dropped)
    assert rows(s)[0] == (2, 1, 4, 2.0, -1)
    assert rows(s)[2] == EMPTY


@pytest.mark.parametrize("fn", [inject, inject_jit], ids=["eager", "jit"])
def test_inject_full_table_flags_dropped_and_leaves_schedule(fn):
    s = make_schedule([flash_crash(0.1, 5, 0), news_event(0.1, 2)], capacity=2)
    before = rows(s)
    s2, dropped = fn(s, volatility_spike(2.0, 4, 1))
    assert bool(dropped)
    assert dropped.dtype == jnp.bool_ and dropped.shape == ()
    assert rows(s2) == before


@pytest.mark.parametrize("fn", [inject, inject_jit], ids=["eager", "jit"])
def test_inject_invalid_is_dropped_none_is_noop(fn):
    s = empty_schedule(2)
    for bad in [
        event(1, 0, 0, 0.1, -1),  # duration 0
        event(1, 0, 5, 1.5, -1),  # crash of 150%
        event(4, 0, 2, 0.1, -1),  # news lasting 2 steps
        event(2, -1, 5, 2.0, -1),  # negative start
        event(3, 0, 5, 0.5, -1),  # liquidity multiplier < 1
        event(2, 0, 5, 2.0, -3),  # bad asset
        event(9, 0, 5, 2.0, -1),  # unknown kind
        event(2, 2**31 - 2, 5, 2.0, -1),  # end overflows int32
    ]:
        s2, dropped = fn(s, bad)
        assert bool(dropped)
        assert rows(s2) == [EMPTY, EMPTY]
    s2, dropped = fn(s, event(0, 0, 5, 2.0, -1))
    assert not bool(dropped)
    assert rows(s2) == [EMPTY, EMPTY]


def test_inject_vmap_over_markets_equals_loop():
    scheds = [
        empty_schedule(2),
        make_schedule([flash_crash(0.1, 5, 0)], capacity=2),
        make_schedule([flash_crash(0.1, 5, 0), news_event(0.1, 1)], capacity=2),
    ]
    evs = [volatility_spike(2.0, 3, 4), liquidity_shock(3.0, 2, 1, asset=0), news_event(0.2, 9)]
    batched_s = jax.tree.map(lambda *x: jnp.stack(x), *scheds)
    batched_e = jax.tree.map(lambda *x: jnp.stack(x), *evs)
    out, dropped = jax.jit(jax.vmap(inject))(batched_s, batched_e)
    for i, (s, e) in enumerate(zip(scheds, evs, strict=True)):
        want, want_drop = inject(s, e)
        assert rows(jax.tree.map(lambda x, i=i: x[i], out)) == rows(want)
        assert bool(dropped[i]) == bool(want_drop)
    assert [bool(d) for d in dropped] == [False, False, True]


def test_expire_frees_finished_rows():
    s = make_schedule(
        [flash_crash(0.1, 5, 0), news_event(0.1, 3), volatility_spike(2.0, 10, 2)], capacity=4
    )
    assert rows(expire(s, 3)) == rows(s)  # news at 3 still acts at step 3
    assert rows(expire(s, 4)) == [(1, 0, 5, F32(0.1), -1), EMPTY, (2, 2, 10, 2.0, -1), EMPTY]
    assert rows(jax.jit(expire)(s, 12)) == [EMPTY] * 4
    s2, dropped = inject(expire(s, 5), flash_rally(0.1, 2, 6))
    assert not bool(dropped)
    assert rows(s2)[0] == (5, 6, 2, F32(0.1), -1)
    assert expire is expire_events  # the old name stays importable


def test_event_kind_codes():
    assert [int(k) for k in EventKind] == [0, 1, 2, 3, 4, 5, 6]
    assert EventKind.NONE == 0 and EventKind.FLASH_RALLY == 5

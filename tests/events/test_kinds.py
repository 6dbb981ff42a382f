"""The event-kind table: one record per kind, and the host and jitted checks agree with it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl import events
from quantmarl.events import EVENT_KINDS, Event, EventKind, event_is_valid, validate_event


def _event(kind, magnitude, duration=1, start=0, asset=-1) -> Event:
    return Event(kind=jnp.asarray(int(kind), jnp.int32), start=jnp.asarray(start, jnp.int32),
                 duration=jnp.asarray(duration, jnp.int32),
                 magnitude=jnp.asarray(magnitude, jnp.float32),
                 asset=jnp.asarray(asset, jnp.int32))


def _host_ok(event: Event) -> bool:
    try:
        validate_event(event)
    except ValueError:
        return False
    return True


def test_every_kind_but_none_has_one_record_and_a_constructor():
    assert set(EVENT_KINDS) == set(EventKind) - {EventKind.NONE}
    for kind, spec in EVENT_KINDS.items():
        assert spec.kind == kind
        assert callable(getattr(events, spec.constructor))
    assert EVENT_KINDS[EventKind.FLASH_CRASH].range_text() == "(0, 1)"
    assert EVENT_KINDS[EventKind.VOLATILITY_SPIKE].range_text() == "[1, inf)"
    assert EVENT_KINDS[EventKind.NEWS].range_text() == "(-1, inf)"
    assert [k for k, s in EVENT_KINDS.items() if s.single_step] == [EventKind.NEWS]
    assert EVENT_KINDS[EventKind.SELL_PROGRAM].range_text() == "[1, 16777216]"


def test_a_sell_program_takes_whole_lots_on_the_host_and_under_jit():
    for lots in (0, 2.5, -3):
        with pytest.raises(ValueError, match=r"^sell_program: lots \(lots sold at market per "
                                             r"step\) must be a whole number in \[1, 16777216\]"):
            events.sell_program(lots, 5, 10)
    valid = jax.jit(event_is_valid)
    assert bool(valid(events.sell_program(40, 5, 10)))
    assert not bool(valid(_event(EventKind.SELL_PROGRAM, 40.5, duration=5)))


@pytest.mark.parametrize("kind", list(EVENT_KINDS))
def test_jitted_check_agrees_with_the_host_check_at_the_bounds(kind):
    spec = EVENT_KINDS[kind]
    eps = 1e-6  # normal float32 steps (XLA:CPU flushes denormals such as 1e-45 to 0)
    probes = [spec.lo, spec.lo + eps, spec.lo - eps, 0.5, 1.0, 2.0, np.inf, np.nan]
    if np.isfinite(spec.hi):
        probes += [spec.hi, spec.hi - eps, spec.hi + eps]
    valid = jax.jit(event_is_valid)
    for m in probes:
        for duration in (1, 2):
            ev = _event(kind, m, duration=duration)
            assert bool(valid(ev)) == _host_ok(ev), (kind, m, duration)


def test_magnitude_error_names_the_constructor_field_meaning_and_range():
    with pytest.raises(ValueError, match=r"^volatility_spike: multiplier \(volatility multiplier"
                                         r"\) must be in \[1, inf\), got 0.5$"):
        events.volatility_spike(0.5, 3, 0)
    with pytest.raises(ValueError, match=r"^news: duration must be 1 for a news event, got 2$"):
        validate_event(_event(EventKind.NEWS, 0.1, duration=2))
    with pytest.raises(ValueError, match=r"^event: kind must be an EventKind code in \[1, 6\]"):
        validate_event(_event(EventKind.NONE, 0.1))

"""Stress events and market rules as pure JAX.

* :mod:`quantmarl.events.kinds`: the :class:`EventKind` codes and one
  :class:`EventKindSpec` per kind (magnitude name, meaning and allowed range);
* :mod:`quantmarl.events.schedule`: :class:`EventSchedule`, a fixed-capacity
  table of scheduled events (flash crash, volatility spike, liquidity shock,
  news, flash rally), validating constructors, jittable :func:`inject` and
  :func:`expire_events`;
* :mod:`quantmarl.events.effects`: :func:`effects_at`, the per-asset
  :class:`Effects` of the events active at a step;
* :mod:`quantmarl.events.draws`: :class:`RandomStress`, random events per episode
  (kind, time, size and asset drawn at every reset; training under stress);
* :mod:`quantmarl.events.circuit_breaker`: trading halts on large moves and
  limit-up/limit-down price bands, exact in integer ticks.
"""

from quantmarl.events.circuit_breaker import (
    CircuitBreakerRules,
    CircuitBreakerState,
    band_limits,
    breaker_rules,
    init_breaker,
    is_halted,
    reference_price,
    update_breaker,
    validate_rules,
)
from quantmarl.events.draws import (
    STRESS_KINDS,
    RandomStress,
    draw_schedule,
    no_random_stress,
    random_stress,
)
from quantmarl.events.effects import (
    WITHDRAW_LIQUIDITY_MULT,
    Effects,
    active_events,
    effects_at,
    no_effects,
)
from quantmarl.events.kinds import EVENT_KINDS, EventKind, EventKindSpec
from quantmarl.events.schedule import (
    Event,
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
    sell_program,
    validate_event,
    volatility_spike,
)

__all__ = [
    "EVENT_KINDS",
    "STRESS_KINDS",
    "RandomStress",
    "draw_schedule",
    "no_random_stress",
    "random_stress",
    "WITHDRAW_LIQUIDITY_MULT",
    "CircuitBreakerRules",
    "CircuitBreakerState",
    "Effects",
    "Event",
    "EventKind",
    "EventKindSpec",
    "EventSchedule",
    "active_events",
    "band_limits",
    "breaker_rules",
    "effects_at",
    "empty_schedule",
    "event_is_valid",
    "expire",
    "expire_events",
    "flash_crash",
    "flash_rally",
    "init_breaker",
    "inject",
    "is_halted",
    "liquidity_shock",
    "make_schedule",
    "news_event",
    "sell_program",
    "no_effects",
    "reference_price",
    "update_breaker",
    "validate_event",
    "validate_rules",
    "volatility_spike",
]

"""Controls of a live simulation: injecting stress events and setting the circuit breaker.

Events are checked by :func:`quantmarl.events.validate_event` (a bad one is a
:class:`~quantmarl.serve.simulation.SimulationError` naming the request field) and
written into the market's injected-event table with :func:`quantmarl.events.inject`;
breaker rules are built by :func:`quantmarl.events.breaker_rules` and replace the
params' rules from the next step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl import events
from quantmarl.events import EVENT_KINDS, EventKind
from quantmarl.events.schedule import Event
from quantmarl.serve.simulation import Simulation, SimulationError


def inject_event(sim: Simulation, kind: str, magnitude: float, duration: int,
                 start: int | None, asset: int) -> dict:
    """Schedule an event ``start`` (default: the next step) in the live market."""
    names = {s.constructor: k for k, s in EVENT_KINDS.items()}
    with sim.lock:
        if kind not in names:
            raise SimulationError("kind", f"kind must be one of {sorted(names)}, got {kind!r}")
        at = sim.step_count if start is None else start
        code = names[kind]
        duration = 1 if code == EventKind.NEWS else duration
        event = Event(kind=jnp.asarray(int(code), jnp.int32), start=jnp.asarray(at, jnp.int32),
                      duration=jnp.asarray(duration, jnp.int32),
                      magnitude=jnp.asarray(magnitude, jnp.float32),
                      asset=jnp.asarray(asset, jnp.int32))
        try:
            events.validate_event(event, sim.market_config.n_assets)
        except ValueError as err:
            raise SimulationError(_event_field(str(err)), str(err)) from None
        schedule, dropped = events.inject(sim.state.market.injected, event)
        if bool(dropped):
            raise SimulationError("kind", "the event table is full (market.max_events "
                                  f"= {sim.market_config.max_events})", status=409)
        sim.state = sim.state.replace(market=sim.state.market.replace(injected=schedule))
        if sim.store is not None:
            sim.store.add_event(sim.id, sim.episode, sim.step_count, kind, magnitude,
                                 at, duration, asset)
        return {"kind": kind, "start": at, "duration": duration, "asset": asset,
                "magnitude": magnitude}


def set_breaker(sim: Simulation, **rules) -> dict:
    """New circuit-breaker rules from the next step (``breaker_rules`` keywords)."""
    with sim.lock:
        history = sim.state.market.breaker.history_len
        try:
            built = events.breaker_rules(**rules, history_len=history)
        except ValueError as err:
            field = next((f for f in rules if str(err).startswith(f)), "enabled")
            raise SimulationError(field, str(err)) from None
        market = sim.params.market.replace(breaker=built)
        sim.params = sim.params.replace(market=market)
        return dict(rules)


def active_events(sim: Simulation) -> list[dict]:
    """The injected events acting at the current step."""
    sched = jax.tree.map(np.asarray, sim.state.market.injected)
    live = np.asarray(events.active_events(sim.state.market.injected, sim.step_count))
    by_code = {int(k): s.constructor for k, s in EVENT_KINDS.items()}
    return [{"kind": by_code[int(sched.kind[i])], "start": int(sched.start[i]),
             "duration": int(sched.duration[i]), "magnitude": float(sched.magnitude[i]),
             "asset": int(sched.asset[i])} for i in np.flatnonzero(live)]


def _event_field(message: str) -> str:
    """The request field an event validation message (``"flash_crash: magnitude ..."``)
    is about."""
    words = message.partition(": ")[2].split(" ", 1)
    first = words[0] if words else ""
    if first in {s.magnitude_name for s in EVENT_KINDS.values()}:
        return "magnitude"
    return first if first in ("duration", "start", "asset") else "kind"

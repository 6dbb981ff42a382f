"""Random stress events per episode: a vmappable spec and a jittable draw.

A :class:`RandomStress` holds one row per kind in :data:`STRESS_KINDS` (flash crash,
flash rally, volatility spike, liquidity shock, news): the probability that an episode
has an event of that kind, and the uniform ranges its magnitude and duration are drawn
from. :func:`draw_schedule` turns a key into an :class:`EventSchedule` with row ``i``
holding the kind-``i`` event when it occurs (kind NONE otherwise): start uniform in
``[1, episode_length - duration]`` (at least step 1), asset uniform over the assets.

Build specs on the host with :func:`random_stress` (validates every range against
:data:`~quantmarl.events.kinds.EVENT_KINDS` and names the field); :func:`no_random_stress`
is the all-zero spec, whose draw is the empty schedule.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl._validate import check_range
from quantmarl.events.kinds import EVENT_KINDS, EventKind
from quantmarl.events.schedule import EventSchedule, empty_schedule

__all__ = ["DEFAULT_RANGES", "STRESS_KINDS", "RandomStress", "draw_schedule",
           "no_random_stress", "random_stress"]

#: the kinds a spec draws, by constructor name, in row order
STRESS_KINDS: tuple[str, ...] = ("flash_crash", "flash_rally", "volatility_spike",
                                 "liquidity_shock", "news")
_CODES = {"flash_crash": EventKind.FLASH_CRASH, "flash_rally": EventKind.FLASH_RALLY,
          "volatility_spike": EventKind.VOLATILITY_SPIKE,
          "liquidity_shock": EventKind.LIQUIDITY_SHOCK, "news": EventKind.NEWS}

#: default (magnitude range, duration range in steps) per kind: moves of 2-15% over 2-10
#: steps, volatility x1.5-3 and spreads x1.2-3 for 10-40 steps, news jumps of +-5%
DEFAULT_RANGES: dict[str, tuple[tuple[float, float], tuple[int, int]]] = {
    "flash_crash": ((0.02, 0.15), (2, 10)),
    "flash_rally": ((0.02, 0.15), (2, 10)),
    "volatility_spike": ((1.5, 3.0), (10, 40)),
    "liquidity_shock": ((1.2, 3.0), (10, 40)),
    "news": ((-0.05, 0.05), (1, 1)),
}


@struct.dataclass
class RandomStress:
    """Per-episode random events; row ``i`` is kind ``STRESS_KINDS[i]``."""

    prob: jax.Array  # float32 [K] probability that an episode has an event of the kind
    magnitude: jax.Array  # float32 [K, 2] uniform range [lo, hi] (EVENT_KINDS units)
    duration: jax.Array  # int32 [K, 2] uniform integer range [lo, hi], steps


def _check_kind(name: str, prob: float, mag: tuple, dur: tuple) -> None:
    spec = EVENT_KINDS[_CODES[name]]
    check_range(f"random_stress.{name}.prob", prob, 0.0, 1.0, fmt="g")
    lo, hi = (float(x) for x in mag)
    for label, m in (("low", lo), ("high", hi)):
        if not (np.isfinite(m) and bool(spec.magnitude_ok(m))):
            raise ValueError(f"random_stress.{name}.magnitude {label} end must be in "
                             f"{spec.range_text()} ({spec.meaning}), got {m}")
    if lo > hi:
        raise ValueError(f"random_stress.{name}.magnitude must be a range [lo, hi] with "
                         f"lo <= hi, got [{lo}, {hi}]")
    d_lo, d_hi = dur
    check_range(f"random_stress.{name}.duration[0]", d_lo, 1, 10**6)
    check_range(f"random_stress.{name}.duration[1]", d_hi, d_lo, 10**6)
    if spec.single_step and (d_lo, d_hi) != (1, 1):
        raise ValueError(f"random_stress.{name}.duration must be (1, 1): the event lasts one "
                         f"step, got ({d_lo}, {d_hi})")


def random_stress(prob: float | Mapping[str, float] = 0.0,
                  ranges: Mapping[str, tuple] | None = None) -> RandomStress:
    """A validated spec: ``prob`` the per-episode probability of each kind (one number for
    every kind, or ``{kind: p}``, missing kinds 0); ``ranges`` ``{kind: (magnitude range,
    duration range)}`` replacing :data:`DEFAULT_RANGES`. Raises ``ValueError`` naming the
    field and its allowed range."""
    probs = prob if isinstance(prob, Mapping) else dict.fromkeys(STRESS_KINDS, prob)
    ranges = {**DEFAULT_RANGES, **(ranges or {})}
    for name in (*probs, *ranges):
        if name not in _CODES:
            raise ValueError(f"random_stress: unknown event kind {name!r}; "
                             f"allowed: {', '.join(STRESS_KINDS)}")
    rows = []
    for name in STRESS_KINDS:
        p = probs.get(name, 0.0)
        mag, dur = ranges[name]
        _check_kind(name, p, mag, dur)
        rows.append((float(p), mag, dur))
    return RandomStress(prob=jnp.asarray([r[0] for r in rows], jnp.float32),
                        magnitude=jnp.asarray([r[1] for r in rows], jnp.float32),
                        duration=jnp.asarray([r[2] for r in rows], jnp.int32))


def no_random_stress() -> RandomStress:
    """The spec that draws no event (every probability 0)."""
    return random_stress(0.0)


def draw_schedule(key: jax.Array, spec: RandomStress, episode_length: int, n_assets: int,
                  capacity: int) -> EventSchedule:
    """One episode's events (jittable): ``capacity`` rows, row ``i < K`` the kind-``i``
    event when it occurs. ``capacity >= K`` is checked when tracing."""
    k = spec.prob.shape[-1]
    if capacity < k:
        raise ValueError(f"market.max_events must be >= {k} to hold random stress events, "
                         f"got {capacity}")
    k_on, k_mag, k_dur, k_start, k_asset = jax.random.split(key, 5)
    on = jax.random.uniform(k_on, (k,)) < spec.prob
    u = jax.random.uniform(k_mag, (k,), jnp.float32)
    lo, hi = spec.magnitude[:, 0], spec.magnitude[:, 1]
    magnitude = jnp.clip(lo + u * (hi - lo), lo, hi)  # rounding only; both ends valid
    duration = jax.random.randint(k_dur, (k,), spec.duration[:, 0], spec.duration[:, 1] + 1)
    last_start = jnp.maximum(episode_length - duration, 1)
    start = jax.random.randint(k_start, (k,), 1, last_start + 1)
    asset = jax.random.randint(k_asset, (k,), 0, n_assets)
    codes = jnp.asarray([int(_CODES[n]) for n in STRESS_KINDS], jnp.int32)
    empty = empty_schedule(capacity)

    def rows(drawn: jax.Array, blank: jax.Array) -> jax.Array:
        return blank.at[:k].set(jnp.where(on, drawn.astype(blank.dtype), blank[:k]))

    return EventSchedule(kind=rows(codes, empty.kind), start=rows(start, empty.start),
                         duration=rows(duration, empty.duration),
                         magnitude=rows(magnitude, empty.magnitude),
                         asset=rows(asset, empty.asset))

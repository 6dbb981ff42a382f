"""Circuit breaker (trading halts) and limit-up/limit-down price bands.

Pure JAX, ``jit``-able and ``vmap``-able over markets: the rules are a params
pytree (:class:`CircuitBreakerRules`) and the state a ring buffer of recent
prices per asset (:class:`CircuitBreakerState`, history length ``W`` static).

Reference price. The state keeps the last ``W`` prices passed to
:func:`update_breaker` (initially ``W`` copies of ``price0``). When
:func:`update_breaker` is called at a step with price ``p``, the reference is
the price recorded ``window`` updates earlier (with one update per step: the
price ``window`` steps ago; ``price0`` until the buffer has that much history).
``window`` is clipped to ``[1, W]`` inside the kernel; :func:`validate_rules`
refuses values outside it on the host.

Trigger (exact, in integers). Thresholds are stored as float32 and converted
to whole parts per million, ``thr_ppm = round(float64(threshold) * 1e6)`` (so
``0.1`` means exactly 100000 ppm although float32(0.1) is not 0.1). An asset
halts when the rules are enabled, it is not halted already, the reference and
the price are both ``> 0``, and the move *strictly exceeds* the threshold::

    |p - ref| * 1e6 > thr_ppm * ref

A move of exactly the threshold (e.g. 100 -> 110 with threshold 0.1) does
*not* halt. The product is never formed: with integer ``|p - ref|`` the test
equals ``|p - ref| > floor(ref * thr_ppm / 1e6)``, and the floor is computed
by splitting ``ref`` into millions and a remainder, which cannot overflow for
any int64 price.

Halts. (The market queues orders for a halted asset and reopens it with a call
auction: :mod:`quantmarl.market.halt_queue`.) A trigger at step ``t`` sets
``halted_until = t + halt_steps``: the
asset is halted on steps ``t .. t + halt_steps - 1`` (the trigger step
included) and re-arms at ``t + halt_steps``. A halted asset cannot trigger
again (the halt is not extended) and ``n_halts`` counts triggers only. The
price history keeps being updated while halted, so after the halt the
reference is again the price ``window`` steps ago; if the price is still
beyond the threshold from it, the breaker fires again at once (choose
``halt_steps >= window`` so the reopened market is judged against prices from
the trigger step on, not against the pre-move price). Disabled rules never
trigger. ``step + halt_steps`` must fit in int32.

Band. With ``band > 0`` (also rounded to whole ppm) and enabled rules,
:func:`band_limits` gives ``lo = max(ref - w, 1)`` and ``hi = ref + w`` with
``w = floor(ref * band_ppm / 1e6)`` ticks, around the reference the *next*
update will use; orders priced outside ``[lo, hi]`` are to be rejected by the
caller (inclusive bounds). With the band off (``band == 0``, rules disabled,
or no positive reference) the limits are ``[1, int64 max]``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from quantmarl._validate import check_bool, check_int, check_range, is_number
from quantmarl.types import check_int64

__all__ = [
    "CircuitBreakerRules",
    "CircuitBreakerState",
    "band_limits",
    "breaker_rules",
    "init_breaker",
    "is_halted",
    "reference_price",
    "update_breaker",
    "validate_rules",
]

PPM = 1_000_000  # threshold / band resolution: parts per million
_INT64_MAX = np.iinfo(np.int64).max
_INT32_MAX = 2**31 - 1
_MAX_HISTORY = 1 << 20


@struct.dataclass
class CircuitBreakerRules:
    """Breaker params pytree (``vmap`` over a leading axis for sweeps)."""

    enabled: jax.Array  # bool [] rules on (halts and band); off = never halt, no band
    threshold: jax.Array  # float32 [] halt when |price / reference - 1| > threshold (fraction)
    window: jax.Array  # int32 [] reference = price `window` steps ago, in [1, W]
    halt_steps: jax.Array  # int32 [] steps an asset stays halted (>= 1)
    band: jax.Array  # float32 [] limit-up/limit-down half-width, fraction of reference (0 = off)


@struct.dataclass
class CircuitBreakerState:
    """Breaker state for ``A`` assets (add a leading axis under ``vmap``)."""

    history: jax.Array  # int64 [W, A] recent prices in ticks (ring buffer)
    head: jax.Array  # int32 [] slot the next price is written to (= oldest entry)
    halted_until: jax.Array  # int32 [A] step until which the asset is halted (exclusive)
    n_halts: jax.Array  # int32 [A] halts triggered so far

    @property
    def history_len(self) -> int:
        """Ring buffer length ``W`` (static)."""
        return self.history.shape[-2]


# ----------------------------------------------------------------------------- host side


def _bad(name: str, value: np.ndarray, ok: np.ndarray, allowed: str) -> None:
    if not np.all(ok):
        first = value[~ok].flat[0] if value.ndim else value[()]
        shown = str(first) if value.dtype.kind == "f" else repr(first.item())
        raise ValueError(f"{name} must be {allowed}, got {shown}")


def _ppm_np(x: np.ndarray) -> np.ndarray:
    """float32 fraction -> whole ppm, exactly as the kernel does it."""
    return np.round(x.astype(np.float32).astype(np.float64) * PPM).astype(np.int64)


def validate_rules(rules: CircuitBreakerRules, history_len: int) -> CircuitBreakerRules:
    """Return ``rules`` or raise ``ValueError`` naming the field, value and range.

    Host-side (concrete values; batched rules are checked element by element):
    ``threshold`` in (0, 1) and at least 1 ppm after rounding (about 1e-6), ``window`` in
    ``[1, history_len]``, ``halt_steps`` in ``[1, 2**31 - 1]``, ``band`` in
    ``[0, 1)``, ``enabled`` boolean.
    """
    check_int("history_len", history_len, 1, allow_numpy=False)
    enabled = np.asarray(rules.enabled)
    if enabled.dtype != np.bool_:
        raise ValueError(f"enabled must be a bool, got dtype {enabled.dtype}")
    thr = np.asarray(rules.threshold, np.float32)
    _bad(
        "threshold",
        thr,
        np.isfinite(thr) & (thr > 0) & (thr < 1) & (_ppm_np(thr) >= 1),
        "in (0, 1), at least 1e-06 (fraction of the reference price, whole ppm)",
    )
    for name in ("window", "halt_steps"):
        v = np.asarray(getattr(rules, name))
        if not np.issubdtype(v.dtype, np.integer):
            raise ValueError(f"{name} must be an integer, got dtype {v.dtype}")
    window = np.asarray(rules.window).astype(np.int64)
    _bad("window", window, (window >= 1) & (window <= history_len), f"in [1, {history_len}] steps")
    halt = np.asarray(rules.halt_steps).astype(np.int64)
    _bad("halt_steps", halt, (halt >= 1) & (halt <= _INT32_MAX), f"in [1, {_INT32_MAX}] steps")
    band = np.asarray(rules.band, np.float32)
    _bad(
        "band",
        band,
        np.isfinite(band) & (band >= 0) & (band < 1),
        "in [0, 1) (fraction of the reference price; 0 = off)",
    )
    return rules


def breaker_rules(
    threshold: float = 0.1,
    window: int = 1,
    halt_steps: int = 1,
    band: float = 0.0,
    *,
    enabled: bool = True,
    history_len: int | None = None,
) -> CircuitBreakerRules:
    """Build validated :class:`CircuitBreakerRules` (``window <= history_len`` if given)."""
    for name, v in (("window", window), ("halt_steps", halt_steps)):
        check_int(name, v)
    for name, v in (("threshold", threshold), ("band", band)):
        if not is_number(v):
            raise ValueError(f"{name} must be a float, got {v!r}")
        if not math.isfinite(float(v)):
            raise ValueError(f"{name} must be finite, got {v!r}")
    check_bool("enabled", enabled, allow_numpy=True)
    for name, v in (("window", window), ("halt_steps", halt_steps)):
        check_range(name, int(v), 1, _INT32_MAX, unit="steps")
    rules = CircuitBreakerRules(
        enabled=jnp.asarray(bool(enabled)),
        threshold=jnp.asarray(threshold, jnp.float32),
        window=jnp.asarray(int(window), jnp.int32),
        halt_steps=jnp.asarray(int(halt_steps), jnp.int32),
        band=jnp.asarray(band, jnp.float32),
    )
    return validate_rules(rules, _INT32_MAX if history_len is None else history_len)


def init_breaker(price0: jax.Array, history_len: int) -> CircuitBreakerState:
    """Fresh state: the history holds ``history_len`` copies of ``price0`` (int64 ``[A]``)."""
    check_int64("price0", price0)
    check_int("history_len (W)", history_len, 1, _MAX_HISTORY, allow_numpy=False)
    price0 = jnp.asarray(price0, jnp.int64)
    if price0.ndim != 1:
        raise ValueError(f"price0 must be a 1-D array [A] of ticks, got shape {price0.shape}")
    n_assets = price0.shape[0]
    return CircuitBreakerState(
        history=jnp.broadcast_to(price0[None, :], (history_len, n_assets)),
        head=jnp.zeros((), jnp.int32),
        halted_until=jnp.zeros((n_assets,), jnp.int32),
        n_halts=jnp.zeros((n_assets,), jnp.int32),
    )


# ----------------------------------------------------------------------------- kernels


def _ppm(fraction: jax.Array) -> jax.Array:
    """float32 fraction -> int64 whole ppm (exact conversion, round half to even)."""
    return jnp.round(jnp.asarray(fraction, jnp.float32).astype(jnp.float64) * PPM).astype(jnp.int64)


def _frac_floor(ref: jax.Array, ppm: jax.Array) -> jax.Array:
    """``floor(ref * ppm / 1e6)`` for ``ref >= 0``, ``0 <= ppm <= 1e6``, without overflow."""
    q, r = ref // PPM, ref % PPM
    return q * ppm + (r * ppm) // PPM


@jax.jit
def reference_price(state: CircuitBreakerState, rules: CircuitBreakerRules) -> jax.Array:
    """int64 ``[A]``: the reference the next :func:`update_breaker` compares against."""
    w = state.history_len
    window = jnp.clip(jnp.asarray(rules.window, jnp.int32), 1, w)
    slot = jnp.mod(state.head - window, w)
    return jnp.take(state.history, slot, axis=0)


def is_halted(state: CircuitBreakerState, step: jax.Array | int) -> jax.Array:
    """bool ``[A]``: ``step < halted_until``."""
    return jnp.asarray(step, jnp.int32) < state.halted_until


@jax.jit
def update_breaker(
    state: CircuitBreakerState,
    price: jax.Array,
    step: jax.Array | int,
    rules: CircuitBreakerRules,
) -> tuple[CircuitBreakerState, jax.Array]:
    """Record ``price`` (int64 ``[A]`` ticks) at ``step``; trigger halts (see module docstring).

    Returns ``(state, halted)`` with ``halted`` bool ``[A]`` = ``step < halted_until``
    after the update (True on the trigger step itself).
    """
    check_int64("price", price)
    price = jnp.asarray(price, jnp.int64)
    step = jnp.asarray(step).astype(jnp.int32)
    ref = reference_price(state, rules)
    limit = _frac_floor(jnp.maximum(ref, 0), _ppm(rules.threshold))
    exceeds = (ref > 0) & (price > 0) & (jnp.abs(price - ref) > limit)
    trigger = jnp.asarray(rules.enabled, jnp.bool_) & ~is_halted(state, step) & exceeds
    until = step + jnp.asarray(rules.halt_steps, jnp.int32)
    new = CircuitBreakerState(
        history=state.history.at[state.head].set(price),
        head=jnp.mod(state.head + 1, state.history_len).astype(jnp.int32),
        halted_until=jnp.where(trigger, until, state.halted_until),
        n_halts=state.n_halts + trigger.astype(jnp.int32),
    )
    return new, is_halted(new, step)


@jax.jit
def band_limits(
    state: CircuitBreakerState, rules: CircuitBreakerRules
) -> tuple[jax.Array, jax.Array]:
    """``(lo, hi)`` int64 ``[A]`` ticks: orders priced outside ``[lo, hi]`` are to be rejected.

    ``w = floor(ref * band_ppm / 1e6)``; ``lo = max(ref - w, 1)``, ``hi = ref + w``
    around :func:`reference_price`. Band off (``band`` rounds to 0 ppm, rules
    disabled, or ``ref <= 0``): ``(1, int64 max)``. ``hi`` saturates at int64 max.
    """
    ref = reference_price(state, rules)
    band_ppm = _ppm(rules.band)
    w = _frac_floor(jnp.maximum(ref, 0), band_ppm)
    on = jnp.asarray(rules.enabled, jnp.bool_) & (band_ppm > 0) & (ref > 0)
    lo = jnp.where(on, jnp.maximum(ref - w, 1), 1)
    hi = jnp.where(on & (w <= _INT64_MAX - ref), ref + w, _INT64_MAX)  # saturating
    return lo.astype(jnp.int64), hi.astype(jnp.int64)

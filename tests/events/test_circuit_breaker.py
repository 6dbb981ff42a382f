"""Circuit breaker and price bands: exact thresholds, halts, re-arming, jit and vmap."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.events import (
    CircuitBreakerRules,
    band_limits,
    breaker_rules,
    init_breaker,
    is_halted,
    reference_price,
    update_breaker,
    validate_rules,
)

INT64_MAX = np.iinfo(np.int64).max


def p(*xs) -> jax.Array:
    return jnp.asarray(np.asarray(xs, np.int64))


def run(prices, rules, history_len=8, price0=None, step0=0):
    """Feed rows of prices at steps step0, step0+1, ...; return (state, halted rows)."""
    prices = np.asarray(prices, np.int64)
    state = init_breaker(p(*(prices[0] if price0 is None else price0)), history_len)
    halted = []
    for i, row in enumerate(prices):
        state, h = update_breaker(state, jnp.asarray(row), step0 + i, rules)
        halted.append(np.asarray(h).tolist())
    return state, halted


def test_halts_only_strictly_beyond_threshold():
    rules = breaker_rules(threshold=0.1, window=1, halt_steps=2)
    state = init_breaker(p(100, 100, 100, 100, 100), 4)
    state, halted = update_breaker(state, p(110, 111, 90, 89, 100), 0, rules)
    # Exactly 10% (110, 90) does not halt; 11% does.
    assert np.asarray(halted).tolist() == [False, True, False, True, False]
    assert np.asarray(state.n_halts).tolist() == [0, 1, 0, 1, 0]
    assert np.asarray(state.halted_until).tolist() == [0, 2, 0, 2, 0]
    assert halted.dtype == jnp.bool_


def test_threshold_is_exact_not_float32():
    # float32(0.7) = 0.69999998..., which a float comparison would let 100 -> 170 halt.
    rules = breaker_rules(threshold=0.7, window=1, halt_steps=1)
    _, halted = update_breaker(init_breaker(p(100, 100), 2), p(170, 171), 0, rules)
    assert np.asarray(halted).tolist() == [False, True]
    # A float32 threshold just above 0.1 rounds to 0.1 exactly (whole ppm).
    rules = breaker_rules(threshold=float(np.nextafter(np.float32(0.1), np.float32(1))))
    _, halted = update_breaker(init_breaker(p(1000, 1000), 2), p(1100, 1101), 0, rules)
    assert np.asarray(halted).tolist() == [False, True]


def test_exact_for_huge_prices():
    ref = 10**15 + 7  # ref * ppm would overflow int64
    lim = (ref * 100_000) // 10**6  # floor(0.1 * ref)
    rules = breaker_rules(threshold=0.1)
    state = init_breaker(p(ref, ref, ref, ref), 2)
    _, halted = update_breaker(
        state, p(ref + lim, ref + lim + 1, ref - lim, ref - lim - 1), 0, rules
    )
    assert np.asarray(halted).tolist() == [False, True, False, True]
    ref = 2**62
    lim = (ref * 100_000) // 10**6
    state = init_breaker(p(ref, ref), 2)
    _, halted = update_breaker(state, p(ref - lim, ref - lim - 1), 0, rules)
    assert np.asarray(halted).tolist() == [False, True]


def test_no_trigger_without_positive_prices():
    rules = breaker_rules(threshold=0.1)
    _, halted = update_breaker(init_breaker(p(0, 100, 100), 2), p(100, 0, -5), 0, rules)
    assert np.asarray(halted).tolist() == [False, False, False]


def test_stays_halted_for_halt_steps_then_rearms():
    rules = breaker_rules(threshold=0.05, window=1, halt_steps=3)
    # step:        0    1    2    3    4    5    6    7    8
    prices = [[100], [100], [120], [60], [61], [62], [63], [70], [70]]
    state, halted = run(prices, rules, history_len=4)
    # Trigger at 2 (+20%): halted on 2, 3, 4; the -50% move at 3 does not extend it.
    # Re-armed at 5: 61 -> 62 is +1.6%, no halt; 63 -> 70 (+11%) at 7 halts again (7, 8, 9).
    assert [h[0] for h in halted] == [False, False, True, True, True, False, False, True, True]
    assert int(state.n_halts[0]) == 2
    assert int(state.halted_until[0]) == 10
    assert np.asarray(is_halted(state, 9)).tolist() == [True]
    assert np.asarray(is_halted(state, 10)).tolist() == [False]
    # History kept updating while halted: the last four prices, ring order.
    assert sorted(np.asarray(state.history)[:, 0].tolist()) == [62, 63, 70, 70]


def test_rehalts_after_halt_when_window_still_sees_the_move():
    # halt_steps < window: after the halt the reference is still pre-crash.
    rules = breaker_rules(threshold=0.1, window=3, halt_steps=1, history_len=4)
    prices = [[100], [100], [100], [80], [80], [80], [80]]
    state, halted = run(prices, rules, history_len=4)
    assert [h[0] for h in halted] == [False, False, False, True, True, True, False]
    assert int(state.n_halts[0]) == 3


def test_window_reference_ring_buffer():
    rules = breaker_rules(threshold=0.5, window=3, history_len=4)
    state = init_breaker(p(10, 20), 4)
    assert np.asarray(reference_price(state, rules)).tolist() == [10, 20]
    seq = [[11, 21], [12, 22], [13, 23], [14, 24], [15, 25], [16, 26]]
    refs = []
    for t, row in enumerate(seq):
        refs.append(np.asarray(reference_price(state, rules)).tolist())
        state, _ = update_breaker(state, p(*row), t, rules)
    # Reference at step t is the price at step t - 3 (price0 before that).
    assert refs == [[10, 20], [10, 20], [10, 20], [11, 21], [12, 22], [13, 23]]
    assert int(state.head) == len(seq) % 4
    # Window == W reaches the oldest entry.
    rules_w = breaker_rules(threshold=0.5, window=4, history_len=4)
    assert np.asarray(reference_price(state, rules_w)).tolist() == [13, 23]


def test_disabled_rules_never_halt_and_band_is_off():
    rules = breaker_rules(threshold=0.01, band=0.05, enabled=False)
    prices = [[100, 100], [500, 10], [1, 9000], [100, 100]]
    state, halted = run(prices, rules)
    assert not np.any(halted)
    assert np.asarray(state.n_halts).tolist() == [0, 0]
    lo, hi = band_limits(state, rules)
    assert np.asarray(lo).tolist() == [1, 1] and np.asarray(hi).tolist() == [INT64_MAX] * 2


def test_band_limits_exact():
    rules = breaker_rules(threshold=0.2, band=0.05)
    state = init_breaker(p(1000, 1001, 10, 3, 0, 2**62), 2)
    lo, hi = band_limits(state, rules)
    assert lo.dtype == jnp.int64 and hi.dtype == jnp.int64
    w62 = (2**62 * 50_000) // 10**6
    # floor(50.05) = 50, floor(0.5) = 0, floor(0.15) = 0; ref 0: band off.
    assert np.asarray(lo).tolist() == [950, 951, 10, 3, 1, 2**62 - w62]
    assert np.asarray(hi).tolist() == [1050, 1051, 10, 3, INT64_MAX, 2**62 + w62]
    wide = breaker_rules(threshold=0.2, band=0.9)
    lo, hi = band_limits(init_breaker(p(3, 1000), 2), wide)
    assert np.asarray(lo).tolist() == [1, 100]  # max(3 - 2, 1); 1000 - 900
    assert np.asarray(hi).tolist() == [5, 1900]
    saturate = breaker_rules(threshold=0.2, band=0.9)
    _, hi = band_limits(init_breaker(p(INT64_MAX - 5), 2), saturate)
    assert np.asarray(hi).tolist() == [INT64_MAX]
    off = breaker_rules(threshold=0.2, band=0.0)
    lo, hi = band_limits(state, off)
    assert np.asarray(lo).tolist() == [1] * 6 and np.asarray(hi).tolist() == [INT64_MAX] * 6


def test_band_follows_reference_of_next_update():
    rules = breaker_rules(threshold=0.5, window=2, band=0.1, history_len=3)
    state = init_breaker(p(100), 3)
    state, _ = update_breaker(state, p(120), 0, rules)
    state, _ = update_breaker(state, p(130), 1, rules)
    # Next update (step 2) compares against the price at step 0: 120.
    assert np.asarray(reference_price(state, rules)).tolist() == [120]
    lo, hi = band_limits(state, rules)
    assert (int(lo[0]), int(hi[0])) == (108, 132)


@pytest.mark.parametrize(
    ("kwargs", "field", "value_text"),
    [
        (dict(threshold=0.0), "threshold", "0.0"),
        (dict(threshold=1.0), "threshold", "1.0"),
        (dict(threshold=-0.2), "threshold", "-0.2"),
        (dict(threshold=1e-9), "threshold", "1e-09"),
        (dict(threshold=float("nan")), "threshold", "nan"),
        (dict(window=0), "window", "0"),
        (dict(window=9, history_len=8), "window", "9"),
        (dict(window=2.0), "window", "2.0"),
        (dict(halt_steps=0), "halt_steps", "0"),
        (dict(band=-0.01), "band", "-0.01"),
        (dict(band=1.0), "band", "1.0"),
        (dict(enabled=1), "enabled", "1"),
    ],
)
def test_rule_errors_name_field_value_and_range(kwargs, field, value_text):
    with pytest.raises(ValueError) as info:
        breaker_rules(**kwargs)
    msg = str(info.value)
    assert field in msg and value_text in msg


def test_validate_rules_checks_arrays_and_batches():
    good = breaker_rules(threshold=0.1, window=4)
    assert validate_rules(good, 4) is good
    with pytest.raises(ValueError, match=r"window must be in \[1, 3\].*got 4"):
        validate_rules(good, 3)
    batch = CircuitBreakerRules(
        enabled=jnp.array([True, True, False]),
        threshold=jnp.array([0.1, 1.5, 0.2], jnp.float32),
        window=jnp.array([1, 2, 3], jnp.int32),
        halt_steps=jnp.array([1, 1, 1], jnp.int32),
        band=jnp.zeros(3, jnp.float32),
    )
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\).*got 1.5"):
        validate_rules(batch, 4)
    with pytest.raises(ValueError, match="history_len"):
        init_breaker(p(100), 0)
    with pytest.raises(ValueError, match="int64"):
        init_breaker(jnp.array([100], jnp.int32), 4)
    with pytest.raises(ValueError, match="int64"):
        update_breaker(init_breaker(p(100), 2), jnp.array([100], jnp.int32), 0, good)


PRICES = np.array(
    [[100, 50, 7], [100, 50, 7], [112, 49, 8], [90, 60, 9], [91, 66, 9], [150, 66, 11]] * 2,
    np.int64,
)


def scan_breaker(rules, prices, history_len=4):
    """lax.scan over steps; returns (final state, halted [T, A], band lo/hi [T, A])."""

    def body(state, x):
        step, price = x
        state, halted = update_breaker(state, price, step, rules)
        lo, hi = band_limits(state, rules)
        return state, (halted, lo, hi)

    state0 = init_breaker(prices[0], history_len)
    steps = jnp.arange(prices.shape[0], dtype=jnp.int32)
    return jax.lax.scan(body, state0, (steps, prices))


_scan_jit = jax.jit(scan_breaker, static_argnames="history_len")


def test_jit_matches_no_jit():
    rules = breaker_rules(threshold=0.1, window=2, halt_steps=2, band=0.05, history_len=4)
    prices = jnp.asarray(PRICES[:6])
    jitted = jax.jit(scan_breaker)(rules, prices)
    with jax.disable_jit():
        eager = scan_breaker(rules, prices)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    halted = np.asarray(jitted[1][0])
    assert halted.any() and not halted.all()  # the case exercises both outcomes


def test_vmap_over_three_markets_equals_loop():
    rules = [
        breaker_rules(threshold=0.1, window=1, halt_steps=2, band=0.05),
        breaker_rules(threshold=0.3, window=3, halt_steps=1, band=0.0, history_len=4),
        breaker_rules(threshold=0.01, window=2, halt_steps=4, enabled=False),
    ]
    prices = [PRICES, PRICES[::-1].copy(), PRICES * 3]
    b_rules = jax.tree.map(lambda *x: jnp.stack(x), *rules)
    b_prices = jnp.asarray(np.stack(prices))
    out = jax.jit(jax.vmap(scan_breaker))(b_rules, b_prices)
    for i in range(3):
        want = _scan_jit(rules[i], jnp.asarray(prices[i]))
        got = jax.tree.map(lambda x, i=i: x[i], out)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def reference_breaker(prices, threshold, window, halt_steps, enabled, history_len):
    """Plain-Python breaker with exact big-int arithmetic; returns halted rows and n_halts."""
    ppm = int(np.round(np.float64(np.float32(threshold)) * 1e6))
    n = len(prices[0])
    seen = [list(prices[0])] * history_len
    until, n_halts, out = [0] * n, [0] * n, []
    for step, row in enumerate(prices):
        ref = seen[len(seen) - window]
        for a in range(n):
            r, q = int(ref[a]), int(row[a])
            exceeds = r > 0 and q > 0 and abs(q - r) * 10**6 > ppm * r
            if enabled and step >= until[a] and exceeds:
                until[a] = step + halt_steps
                n_halts[a] += 1
        seen.append(list(row))
        out.append([step < u for u in until])
    return out, n_halts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=st.lists(
        st.lists(st.integers(-30, 30), min_size=3, max_size=3), min_size=12, max_size=12
    ),
    threshold=st.sampled_from([0.05, 0.1, 0.15, 0.25, 0.3]),
    window=st.integers(1, 5),
    halt_steps=st.integers(1, 4),
    enabled=st.booleans(),
)
def test_matches_reference(moves, threshold, window, halt_steps, enabled):
    prices = np.maximum(100 + np.cumsum(np.asarray(moves, np.int64), axis=0), 1)
    rules = breaker_rules(threshold, window, halt_steps, enabled=enabled, history_len=5)
    state, (halted, _, _) = _scan_jit(rules, jnp.asarray(prices), history_len=5)
    want, n_halts = reference_breaker(
        prices.tolist(), threshold, window, halt_steps, enabled, history_len=5
    )
    assert np.asarray(halted).tolist() == want
    assert np.asarray(state.n_halts).tolist() == n_halts


def test_one_trace_across_steps():
    fn = jax.jit(chex.assert_max_traces(lambda *a: update_breaker(*a), n=1))
    rules = breaker_rules(threshold=0.1, window=2, halt_steps=2, history_len=4)
    state = init_breaker(p(100, 100), 4)
    for t, row in enumerate([[100, 100], [120, 99], [121, 98]]):
        state, _ = fn(state, p(*row), jnp.int32(t), rules)
    other = breaker_rules(threshold=0.2, window=1, halt_steps=5, band=0.1, enabled=False)
    fn(state, p(1, 2), jnp.int32(9), other)  # new rule values: no retrace

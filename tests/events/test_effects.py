"""Per-asset effects of active events: hand-computed cases, a reference loop, jit and vmap."""

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
    WITHDRAW_LIQUIDITY_MULT,
    Effects,
    EventKind,
    EventSchedule,
    active_events,
    effects_at,
    empty_schedule,
    flash_crash,
    flash_rally,
    liquidity_shock,
    make_schedule,
    news_event,
    no_effects,
    sell_program,
    volatility_spike,
)

FIELDS = (
    "vol_mult",
    "liquidity_mult",
    "sell_pressure",
    "buy_pressure",
    "fundamental_jump",
    "sell_lots",
    "withdraw_liquidity",
)


def as_np(e: Effects) -> dict[str, np.ndarray]:
    return {f: np.asarray(getattr(e, f)) for f in FIELDS}


def assert_effects_equal(a: Effects, b: Effects) -> None:
    na, nb = as_np(a), as_np(b)
    for f in FIELDS:
        np.testing.assert_array_equal(na[f], nb[f], err_msg=f)


def test_dtypes_and_neutral_values():
    e = effects_at(empty_schedule(4), 0, 3)
    for f in FIELDS[:-1]:
        assert getattr(e, f).dtype == jnp.float32 and getattr(e, f).shape == (3,)
    assert e.withdraw_liquidity.dtype == jnp.bool_
    assert_effects_equal(e, no_effects(3))
    n = as_np(e)
    assert n["vol_mult"].tolist() == [1, 1, 1] and n["liquidity_mult"].tolist() == [1, 1, 1]
    assert n["sell_pressure"].tolist() == [0, 0, 0] and not n["withdraw_liquidity"].any()


def test_flash_crash_0_1_over_5_steps():
    s = make_schedule([flash_crash(0.1, 5, 10)])
    per_step = np.float32(0.1) / np.float32(5)  # == float32(0.02)
    assert per_step == np.float32(0.02)
    total = np.float32(0)
    for t in range(25):
        n = as_np(effects_at(s, t, 2))
        on = 10 <= t <= 14
        assert n["sell_pressure"].tolist() == [per_step if on else 0.0] * 2, t
        assert n["withdraw_liquidity"].tolist() == [on, on], t
        assert n["buy_pressure"].tolist() == [0, 0] and n["vol_mult"].tolist() == [1, 1]
        assert n["fundamental_jump"].tolist() == [0, 0]
        total += n["sell_pressure"][0]
    np.testing.assert_allclose(total, 0.1, rtol=1e-6)  # cumulative target m


def test_flash_rally_mirrors_crash():
    s = make_schedule([flash_rally(0.3, 3, 2, asset=0)])
    for t in range(7):
        n = as_np(effects_at(s, t, 2))
        on = 2 <= t <= 4
        assert n["buy_pressure"].tolist() == [np.float32(0.3) / 3 if on else 0.0, 0.0]
        assert n["sell_pressure"].tolist() == [0, 0]
        assert n["withdraw_liquidity"].tolist() == [on, False]


def test_overlapping_events_combine():
    s = make_schedule(
        [
            volatility_spike(2.0, 10, 0),  # steps 0..9, all assets
            volatility_spike(3.0, 5, 5, asset=1),  # steps 5..9, asset 1
            flash_crash(0.1, 5, 0),  # 0.02 per step, steps 0..4
            flash_crash(0.2, 4, 2, asset=0),  # 0.05 per step, steps 2..5
            flash_rally(0.1, 2, 4),  # 0.05 per step, steps 4..5
            liquidity_shock(2.0, 3, 7),  # steps 7..9
            liquidity_shock(2.5, 2, 8, asset=1),  # steps 8..9 -> 5.0 >= 4: withdraw
        ]
    )
    f = np.float32
    c1, c2, r1 = f(0.1) / f(5), f(0.2) / f(4), f(0.1) / f(2)
    want = {
        0: dict(vol=[2, 2], sell=[c1, c1], buy=[0, 0], liq=[1, 1], wd=[True, True]),
        2: dict(vol=[2, 2], sell=[c1 + c2, c1], buy=[0, 0], liq=[1, 1], wd=[True, True]),
        4: dict(vol=[2, 2], sell=[c1 + c2, c1], buy=[r1, r1], liq=[1, 1], wd=[True, True]),
        5: dict(vol=[2, 6], sell=[c2, 0], buy=[r1, r1], liq=[1, 1], wd=[True, True]),
        6: dict(vol=[2, 6], sell=[0, 0], buy=[0, 0], liq=[1, 1], wd=[False, False]),
        7: dict(vol=[2, 6], sell=[0, 0], buy=[0, 0], liq=[2, 2], wd=[False, False]),
        8: dict(vol=[2, 6], sell=[0, 0], buy=[0, 0], liq=[2, 5], wd=[False, True]),
        10: dict(vol=[1, 1], sell=[0, 0], buy=[0, 0], liq=[1, 1], wd=[False, False]),
    }
    for t, w in want.items():
        n = as_np(effects_at(s, t, 2))
        assert n["vol_mult"].tolist() == [f(x) for x in w["vol"]], t
        assert n["sell_pressure"].tolist() == [f(x) for x in w["sell"]], t
        assert n["buy_pressure"].tolist() == [f(x) for x in w["buy"]], t
        assert n["liquidity_mult"].tolist() == [f(x) for x in w["liq"]], t
        assert n["withdraw_liquidity"].tolist() == w["wd"], t


def test_withdraw_threshold_is_inclusive_and_dynamic():
    s = make_schedule([liquidity_shock(WITHDRAW_LIQUIDITY_MULT, 2, 0, asset=0)])
    assert as_np(effects_at(s, 0, 2))["withdraw_liquidity"].tolist() == [True, False]
    s = make_schedule([liquidity_shock(3.0, 2, 0)])
    assert not as_np(effects_at(s, 0, 2))["withdraw_liquidity"].any()
    n = as_np(effects_at(s, 0, 2, jnp.float32(3.0)))
    assert n["withdraw_liquidity"].tolist() == [True, True]
    n = as_np(effects_at(s, 0, 2, jnp.float32(3.5)))
    assert n["withdraw_liquidity"].tolist() == [False, False]


def test_asset_targeting():
    s = make_schedule([volatility_spike(2.0, 3, 0, asset=-1), volatility_spike(4.0, 3, 0, asset=2)])
    assert as_np(effects_at(s, 1, 3))["vol_mult"].tolist() == [2, 2, 8]
    # An asset index beyond n_assets affects nothing.
    assert as_np(effects_at(s, 1, 2))["vol_mult"].tolist() == [2, 2]


def test_news_jump_only_at_start():
    s = make_schedule([news_event(0.05, 3, asset=1), news_event(-0.1, 6)])
    for t in range(9):
        n = as_np(effects_at(s, t, 2))
        want = {3: [0, np.float32(0.05)], 6: [np.float32(-0.1)] * 2}.get(t, [0, 0])
        assert n["fundamental_jump"].tolist() == want, t  # single jumps come back exactly
        assert not n["withdraw_liquidity"].any()


def test_news_at_one_step_compound():
    s = make_schedule([news_event(0.1, 2), news_event(0.2, 2), news_event(-0.5, 2, asset=0)])
    n = as_np(effects_at(s, 2, 2))
    want0 = (1 + np.float64(np.float32(0.1))) * (1 + np.float64(np.float32(0.2))) * 0.5 - 1
    want1 = (1 + np.float64(np.float32(0.1))) * (1 + np.float64(np.float32(0.2))) - 1
    assert n["fundamental_jump"].tolist() == [np.float32(want0), np.float32(want1)]
    np.testing.assert_allclose(n["fundamental_jump"], [-0.34, 0.32], rtol=1e-6)


def test_news_row_with_longer_duration_only_jumps_at_start():
    # Not constructible through news_event, but a raw row must still act only at start.
    s = EventSchedule(
        kind=jnp.array([EventKind.NEWS], jnp.int32),
        start=jnp.array([2], jnp.int32),
        duration=jnp.array([3], jnp.int32),
        magnitude=jnp.array([0.25], jnp.float32),
        asset=jnp.array([-1], jnp.int32),
    )
    jumps = [float(effects_at(s, t, 1).fundamental_jump[0]) for t in range(6)]
    assert jumps == [0, 0, 0.25, 0, 0, 0]


def test_active_events_bounds_no_overflow():
    s = EventSchedule(
        kind=jnp.array([1, 2, 0], jnp.int32),
        start=jnp.array([2**31 - 10, 0, 0], jnp.int32),
        duration=jnp.array([2**31 - 1, 5, 5], jnp.int32),  # start + duration > int32 max
        magnitude=jnp.array([0.1, 2.0, 2.0], jnp.float32),
        asset=jnp.array([-1, -1, -1], jnp.int32),
    )
    assert np.asarray(active_events(s, 2**31 - 5)).tolist() == [True, False, False]
    assert np.asarray(active_events(s, 4)).tolist() == [False, True, False]  # NONE never active


def test_n_assets_must_be_static_int():
    with pytest.raises(ValueError, match="n_assets"):
        effects_at(empty_schedule(2), 0, 0)
    with pytest.raises(ValueError, match="n_assets"):
        no_effects(-1)


MIXED = make_schedule(
    [
        flash_crash(0.1, 5, 1),
        volatility_spike(2.5, 4, 0, asset=1),
        liquidity_shock(5.0, 3, 2, asset=0),
        news_event(0.07, 3, asset=2),
        flash_rally(0.2, 2, 5, asset=2),
    ],
    capacity=6,
)


def test_jit_matches_no_jit():
    for t in range(8):
        jitted = effects_at(MIXED, t, 3)
        with jax.disable_jit():
            eager = effects_at(MIXED, t, 3)
        assert_effects_equal(jitted, eager)


def test_vmap_over_three_markets_equals_loop():
    scheds = [
        MIXED,
        make_schedule([flash_crash(0.3, 2, 3, asset=1), news_event(-0.2, 4)], capacity=6),
        empty_schedule(6),
    ]
    steps = jnp.array([3, 4, 0], jnp.int32)
    batched = jax.tree.map(lambda *x: jnp.stack(x), *scheds)
    out = jax.jit(jax.vmap(effects_at, in_axes=(0, 0, None)), static_argnums=2)(batched, steps, 3)
    for i, s in enumerate(scheds):
        assert_effects_equal(jax.tree.map(lambda x, i=i: x[i], out), effects_at(s, steps[i], 3))
    # Also scanned over steps inside one market (what the market step does).
    per_step = jax.lax.map(lambda t: effects_at(MIXED, t, 3), jnp.arange(8, dtype=jnp.int32))
    for t in range(8):
        assert_effects_equal(jax.tree.map(lambda x, t=t: x[t], per_step), effects_at(MIXED, t, 3))


def reference_effects(rows, step, n_assets, threshold=WITHDRAW_LIQUIDITY_MULT):
    """Plain-Python loop over rows (kind, start, duration, magnitude, asset)."""
    vol = [1.0] * n_assets
    liq = [1.0] * n_assets
    sell = [0.0] * n_assets
    buy = [0.0] * n_assets
    lots = [0.0] * n_assets
    growth = [1.0] * n_assets
    moving = [False] * n_assets
    for kind, start, dur, mag, asset in rows:
        if kind == 0 or not start <= step < start + dur:
            continue
        for a in range(n_assets):
            if asset not in (-1, a):
                continue
            if kind == EventKind.VOLATILITY_SPIKE:
                vol[a] *= mag
            elif kind == EventKind.LIQUIDITY_SHOCK:
                liq[a] *= mag
            elif kind == EventKind.FLASH_CRASH:
                sell[a] += mag / dur
                moving[a] = True
            elif kind == EventKind.FLASH_RALLY:
                buy[a] += mag / dur
                moving[a] = True
            elif kind == EventKind.NEWS and step == start:
                growth[a] *= 1 + mag
            elif kind == EventKind.SELL_PROGRAM:
                lots[a] += mag
    jump = [g - 1 for g in growth]
    withdraw = [m or lq >= threshold for m, lq in zip(moving, liq, strict=True)]
    return vol, liq, sell, buy, jump, withdraw, lots


_event = st.one_of(
    st.builds(flash_crash, st.floats(0.01, 0.5), st.integers(1, 6), st.integers(0, 8),
              st.integers(-1, 3)),
    st.builds(flash_rally, st.floats(0.01, 0.5), st.integers(1, 6), st.integers(0, 8),
              st.integers(-1, 3)),
    st.builds(volatility_spike, st.floats(1.0, 4.0), st.integers(1, 6), st.integers(0, 8),
              st.integers(-1, 3)),
    st.builds(liquidity_shock, st.floats(1.0, 4.0), st.integers(1, 6), st.integers(0, 8),
              st.integers(-1, 3)),
    st.builds(news_event, st.floats(-0.5, 0.5), st.integers(0, 8), st.integers(-1, 3)),
    st.builds(sell_program, st.integers(1, 500), st.integers(1, 6), st.integers(0, 8),
              st.integers(-1, 3)),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_event, max_size=6), step=st.integers(0, 12))
def test_matches_reference_loop(events, step):
    s = make_schedule(events, capacity=6)
    rows = [
        (int(k), int(t0), int(d), float(m), int(a))
        for k, t0, d, m, a in zip(*(np.asarray(x) for x in jax.tree.leaves(s)), strict=True)
    ]
    got = as_np(effects_at(s, step, 3))
    vol, liq, sell, buy, jump, withdraw, lots = reference_effects(rows, step, 3)
    np.testing.assert_array_equal(got["sell_lots"], lots)  # whole lots add up exactly
    np.testing.assert_allclose(got["vol_mult"], vol, rtol=1e-6)
    np.testing.assert_allclose(got["liquidity_mult"], liq, rtol=1e-6)
    np.testing.assert_allclose(got["sell_pressure"], sell, rtol=1e-6)
    np.testing.assert_allclose(got["buy_pressure"], buy, rtol=1e-6)
    np.testing.assert_allclose(got["fundamental_jump"], jump, rtol=1e-6, atol=1e-7)
    # Withdrawal may differ from a float64 reference only when liq sits on the threshold.
    near = np.abs(np.asarray(liq) - WITHDRAW_LIQUIDITY_MULT) < 1e-5
    assert np.all((got["withdraw_liquidity"] == np.asarray(withdraw)) | near)


def test_one_trace_across_steps():
    fn = jax.jit(chex.assert_max_traces(lambda s, t: effects_at(s, t, 3), n=1))
    for t in range(4):
        fn(MIXED, jnp.int32(t))
    fn(make_schedule([news_event(0.1, 1)], capacity=6), jnp.int32(1))  # new values, same shapes

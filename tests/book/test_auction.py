"""Uniform-price batch auction: differential tests against the pure-Python reference."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.book.auction import MARKET, AuctionResult, AuctionStatus, clear
from quantmarl.testing.refauction import ref_clear

PAD = 64  # every generated case is padded to this many rows with rejected rows (one compile)
FILLED, PARTIAL, UNFILLED, REJECTED = (int(s) for s in AuctionStatus)


def _arr(x) -> jax.Array:
    return jnp.asarray(np.asarray(x, dtype=np.int64))


def run(side, price, qty, ref, band=512, pad=PAD) -> dict:
    """Clear through the jitted kernel (padded with invalid rows); plain-Python result."""
    n = len(side)
    if pad is not None:
        extra = pad - n
        side = list(side) + [0] * extra  # side 0: rejected
        price = list(price) + [0] * extra
        qty = list(qty) + [0] * extra
    res = clear(_arr(side), _arr(price), _arr(qty), jnp.int64(ref), band=band)
    filled = [int(x) for x in np.asarray(res.filled)]
    status = [int(x) for x in np.asarray(res.status)]
    if pad is not None:
        assert filled[n:] == [0] * (pad - n)
        assert status[n:] == [REJECTED] * (pad - n)
    return {
        "price": int(res.price),
        "volume": int(res.volume),
        "filled": filled[:n],
        "status": status[:n],
        "demand": int(res.demand),
        "supply": int(res.supply),
    }


def check_invariants(side, price, qty, ref, band, out) -> None:
    vol, p = out["volume"], out["price"]
    bought = sum(f for s, f in zip(side, out["filled"], strict=True) if s == 1)
    sold = sum(f for s, f in zip(side, out["filled"], strict=True) if s == -1)
    assert bought == sold == vol >= 0
    if vol > 0:
        assert max(1, ref - band) <= p <= ref + band
        assert vol == min(out["demand"], out["supply"])
    else:
        assert p == ref
    for s, pr, q, f, st_ in zip(side, price, qty, out["filled"], out["status"], strict=True):
        valid = s in (1, -1) and q > 0 and pr >= 0
        if not valid:
            assert f == 0 and st_ == REJECTED
            continue
        assert 0 <= f <= q
        assert st_ == (FILLED if f == q else PARTIAL if f > 0 else UNFILLED)
        if f > 0 and pr != MARKET:  # never beyond the limit
            assert (pr >= p) if s == 1 else (pr <= p)


# ---------------------------------------------------------------- strategies


@st.composite
def books(draw, band: int):
    big = draw(st.booleans())
    ref = draw(st.integers(1, 10**9)) if big else draw(st.integers(1, band + 6))
    n = draw(st.integers(1, 60))
    # A few distinct limit prices make many same-price orders (ties in time priority).
    near = st.integers(ref - band - 3, ref + band + 3).map(lambda p: max(p, 1))
    pool = draw(st.lists(near, min_size=1, max_size=4))
    price_st = st.one_of(
        st.sampled_from(pool),
        near,
        st.just(MARKET),
        st.integers(1, 10**9),
        st.integers(-3, -1),  # invalid
    )
    qty_st = st.one_of(st.integers(1, 5), st.integers(1, 10**6), st.integers(-2, 0))
    side_st = st.sampled_from([1, -1, 1, -1, 1, -1, 0, 2])
    side = draw(st.lists(side_st, min_size=n, max_size=n))
    price = draw(st.lists(price_st, min_size=n, max_size=n))
    qty = draw(st.lists(qty_st, min_size=n, max_size=n))
    return side, price, qty, ref


def _differential(case, band: int) -> None:
    side, price, qty, ref = case
    got = run(side, price, qty, ref, band=band)
    want = ref_clear(side, price, qty, ref, band=band)
    assert got == want
    check_invariants(side, price, qty, ref, band, got)


_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(books(band=4))
def test_matches_reference_narrow_band(case):
    _differential(case, band=4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(band=512))
def test_matches_reference_default_band(case):
    _differential(case, band=512)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(band=0))
def test_matches_reference_zero_band(case):
    _differential(case, band=0)


# ---------------------------------------------------------- hand-made cases


def test_simple_cross_clears_at_ref():
    out = run([1, -1], [101, 99], [10, 10], 100)
    assert out["price"] == 100 and out["volume"] == 10
    assert out["filled"] == [10, 10] and out["status"] == [FILLED, FILLED]


def test_tiebreak_max_volume_beats_closeness():
    # V = 4 below 103, V = 10 on 103..105: volume wins over distance to ref.
    out = run([1, -1, -1], [105, 95, 103], [10, 4, 6], 100)
    assert (out["price"], out["volume"]) == (103, 10)
    assert out["filled"] == [10, 4, 6]


def test_tiebreak_min_imbalance():
    # V = 10 on 99..101; |D - S| = 0 at 99, 5 at 100 and 101: 99 beats ref 100.
    out = run([1, -1, -1], [101, 99, 100], [10, 10, 5], 100)
    assert (out["price"], out["volume"], out["demand"], out["supply"]) == (99, 10, 10, 10)
    assert out["filled"] == [10, 10, 0]
    assert out["status"] == [FILLED, FILLED, UNFILLED]


def test_tiebreak_closest_to_ref():
    # V = 10, |D - S| = 0 on 98..102; ref 105 lies above: the closest is 102.
    out = run([1, -1], [102, 98], [10, 10], 105)
    assert (out["price"], out["volume"]) == (102, 10)
    out = run([1, -1], [102, 98], [10, 10], 90)
    assert (out["price"], out["volume"]) == (98, 10)


def test_lower_price_tiebreak_is_never_needed_but_deterministic():
    # Ties in (V, |D - S|) form an interval of prices, so "closest to ref" already
    # picks one; with ref inside the interval the answer is ref itself.
    out = run([1, -1], [103, 97], [7, 7], 100)
    assert out["price"] == 100


def test_long_side_rationed_by_time_at_marginal_level():
    side = [-1, 1, 1, 1, 1]
    price = [100, 101, 100, 100, 100]
    qty = [10, 4, 5, 5, 3]
    out = run(side, price, qty, 100)
    assert (out["price"], out["volume"], out["demand"], out["supply"]) == (100, 10, 17, 10)
    assert out["filled"] == [10, 4, 5, 1, 0]
    assert out["status"] == [FILLED, FILLED, FILLED, PARTIAL, UNFILLED]


def test_marginal_level_above_clearing_price():
    # Clears at 100 (ties with 99 on V and imbalance, closer to ref), but the buy at
    # 101 alone covers the volume: the willing buy at 100 loses on price priority.
    side, price, qty = [1, 1, -1, -1], [101, 100, 99, 101], [5, 2, 5, 4]
    out = run(side, price, qty, 100)
    assert (out["price"], out["volume"]) == (100, 5)
    assert out["filled"] == [5, 0, 5, 0]
    assert out == ref_clear(side, price, qty, 100)


def test_market_first_then_band_edge_by_time():
    # band 2 around 100: the buy at 150 sits at the edge 102 with the buy at 102;
    # the market buy has priority over both.
    side, price, qty = [1, 1, 1, -1], [150, MARKET, 102, 100], [2, 2, 2, 3]
    out = run(side, price, qty, 100, band=2, pad=None)
    assert (out["price"], out["volume"]) == (100, 3)
    assert out["filled"] == [1, 2, 0, 3]
    assert out == ref_clear(side, price, qty, 100, band=2)


def test_market_orders_both_sides():
    out = run([1, -1, -1], [MARKET, MARKET, 98], [5, 3, 4], 100)
    # D = 5 everywhere; S = 3 below 98, 7 from 98: V = 5 on 98..612, |D - S| = 2.
    assert (out["price"], out["volume"]) == (100, 5)
    assert out["filled"] == [5, 3, 2]


def test_nothing_trades_reports_ref_price():
    out = run([1, -1], [99, 101], [5, 5], 100)
    assert (out["price"], out["volume"], out["demand"], out["supply"]) == (100, 0, 0, 0)
    assert out["filled"] == [0, 0] and out["status"] == [UNFILLED, UNFILLED]
    out = run([1, 1], [MARKET, 100], [5, 5], 100)  # buyers only
    assert (out["price"], out["volume"], out["demand"], out["supply"]) == (100, 0, 10, 0)


def test_invalid_rows_rejected_and_ignored():
    side = [1, 0, -1, 1, -1, 2]
    price = [101, 100, 99, -5, 100, 100]
    qty = [10, 10, 10, 10, 0, 10]
    out = run(side, price, qty, 100)
    assert out["status"] == [FILLED, REJECTED, FILLED, REJECTED, REJECTED, REJECTED]
    assert out["filled"] == [10, 0, 10, 0, 0, 0] and out["volume"] == 10


def test_band_clipped_at_one_tick():
    # ref 2, band 5: prices 1..7 only.
    out = run([1, -1], [MARKET, MARKET], [4, 4], 2, band=5)
    assert (out["price"], out["volume"]) == (2, 4)
    out = run([1, -1], [1, 1], [4, 4], 3, band=5)
    assert (out["price"], out["volume"]) == (1, 4)


def test_large_prices_and_quantities_exact():
    q = 10**12 + 7
    out = run([1, -1, -1], [10**9, 10**9 - 3, MARKET], [3 * q, q, q + 1], 10**9 - 1, band=8)
    assert out == ref_clear(
        [1, -1, -1], [10**9, 10**9 - 3, MARKET], [3 * q, q, q + 1], 10**9 - 1, band=8
    )
    assert out["volume"] == 2 * q + 1


def test_result_dtypes_and_shapes():
    res = clear(_arr([1, -1, 1]), _arr([101, 99, 0]), _arr([1, 2, 3]), jnp.int64(100))
    assert isinstance(res, AuctionResult)
    for name in ("price", "volume", "demand", "supply"):
        assert getattr(res, name).dtype == jnp.int64 and getattr(res, name).shape == ()
    assert res.filled.dtype == jnp.int64 and res.filled.shape == (3,)
    assert res.status.dtype == jnp.int32 and res.status.shape == (3,)


def test_odd_sizes_exact():
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 7, 97, 1009, 4096, 10_007):
        side = rng.choice([1, -1], n)
        price = 100 + rng.integers(-3, 4, n)
        price[rng.random(n) < 0.05] = MARKET
        qty = rng.integers(1, 50, n)
        got = run(side.tolist(), price.tolist(), qty.tolist(), 100, band=8, pad=None)
        assert got == ref_clear(side, price, qty, 100, band=8), n


# ------------------------------------------------------------ dtype checks


@pytest.mark.parametrize("which", ["side", "price", "qty", "ref_price"])
def test_int32_inputs_raise(which):
    args = {
        "side": _arr([1, -1]),
        "price": _arr([101, 99]),
        "qty": _arr([1, 1]),
        "ref_price": jnp.int64(100),
    }
    args[which] = args[which].astype(jnp.int32)
    with pytest.raises(ValueError, match="int64"):
        clear(args["side"], args["price"], args["qty"], args["ref_price"])


def test_bad_shapes_and_band_raise():
    with pytest.raises(ValueError, match="shape"):
        clear(_arr([1, -1]), _arr([101]), _arr([1, 1]), jnp.int64(100))
    with pytest.raises(ValueError, match="band"):
        clear(_arr([1, -1]), _arr([101, 99]), _arr([1, 1]), jnp.int64(100), band=-1)


# ------------------------------------------------------- transformations


def _random_batch(rng, assets: int, n: int):
    side = rng.choice([1, -1, 0], (assets, n), p=[0.47, 0.47, 0.06])
    ref = rng.integers(50, 150, assets)
    price = ref[:, None] + rng.integers(-12, 13, (assets, n))
    price[rng.random((assets, n)) < 0.1] = MARKET
    qty = rng.integers(1, 20, (assets, n))
    return (jnp.asarray(a, jnp.int64) for a in (side, price, qty, ref))


def test_vmap_over_assets_equals_loop():
    side, price, qty, ref = _random_batch(np.random.default_rng(0), 4, 50)
    batched = jax.vmap(lambda s, p, q, r: clear(s, p, q, r, band=8))(side, price, qty, ref)
    for a in range(4):
        one = clear(side[a], price[a], qty[a], ref[a], band=8)
        jax.tree.map(
            lambda x, y, a=a: np.testing.assert_array_equal(np.asarray(x)[a], np.asarray(y)),
            batched,
            one,
        )
    assert int(batched.volume.sum()) > 0


def test_jit_equals_no_jit():
    side, price, qty, ref = _random_batch(np.random.default_rng(1), 1, 40)
    jitted = clear(side[0], price[0], qty[0], ref[0], band=16)
    with jax.disable_jit():
        eager = clear(side[0], price[0], qty[0], ref[0], band=16)
    jax.tree.map(
        lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)), jitted, eager
    )


def test_no_retrace_for_same_shapes():
    traced = jax.jit(chex.assert_max_traces(clear.__wrapped__, n=1), static_argnames="band")
    rng = np.random.default_rng(2)
    for _ in range(3):
        side, price, qty, ref = _random_batch(rng, 1, 32)
        traced(side[0], price[0], qty[0], ref[0], band=8)
    # Values change, shapes and dtypes do not: the real entry point compiles once too.
    clear(side[0], price[0], qty[0], ref[0] + 1, band=8)
    size = clear._cache_size()
    for _ in range(3):
        side, price, qty, ref = _random_batch(rng, 1, 32)
        clear(side[0], price[0], qty[0], ref[0], band=8)
    assert clear._cache_size() == size

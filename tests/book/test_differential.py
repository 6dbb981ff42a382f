"""Differential property tests: the JAX kernel (via replay_messages) vs the pure-Python RefBook."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantmarl.book import replay_messages
from quantmarl.testing.refbook import ref_replay
from quantmarl.testing.streams import order_stream

CAPACITIES = (1, 3, 8)


@st.composite
def streams(draw):
    """Small ids and few prices: many same-price queues, id reuse, cancels of live/filled/unknown
    ids, partial fills, multi-level sweeps, invalid rows and capacity overflow."""
    n = draw(st.integers(1, 120))
    base = draw(st.sampled_from([5, 10**6, 10**9 - 10]))
    big = draw(st.booleans())
    row = st.tuples(
        st.sampled_from([1, 1, 1, 1, 2, 3, 4, 0, 7]),
        st.integers(1, 12),
        st.sampled_from([1, -1, 1, -1, 0, 2]),
        st.integers(base - 4, base + 4) | st.integers(-2, 0),
        st.integers(1, 10**6 if big else 9) | st.integers(-1, 0),
    )
    return np.array(draw(st.lists(row, min_size=n, max_size=n)), np.int64)


def _compare(msgs, capacity):
    got = replay_messages(msgs, capacity=capacity)
    fills, bids, asks, rejected, results = ref_replay(msgs, capacity)
    assert got.fills.tolist() == [list(f) for f in fills]
    assert got.bids.tolist() == [list(b) for b in bids]
    assert got.asks.tolist() == [list(a) for a in asks]
    assert got.rejected.tolist() == rejected
    assert got.status.tolist() == [r.status for r in results]
    for arr in (got.fills, got.bids, got.asks, got.rejected):
        assert arr.dtype == np.int64


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=streams(), capacity=st.sampled_from(CAPACITIES))
def test_kernel_matches_reference_on_generated_streams(msgs, capacity):
    _compare(msgs, capacity)


def test_kernel_matches_reference_on_long_realistic_streams():
    for seed, capacity in ((0, 8), (1, 256)):
        msgs = order_stream(3000, seed=seed, capacity=capacity, invalid_frac=0.03)
        _compare(msgs, capacity)


def test_replay_validates_shape_and_dtype_but_rejects_bad_rows():
    import pytest

    with pytest.raises(ValueError, match="shape"):
        replay_messages(np.zeros((3, 4), np.int64))
    with pytest.raises(ValueError, match="integer"):
        replay_messages(np.zeros((3, 5), np.float64))
    res = replay_messages(np.array([[1, 1, 1, -5, 3], [8, 1, 1, 1, 1]]))
    assert res.rejected.tolist() == [0, 1]
    assert res.fills.shape == (0, 4) and res.bids.shape == (0, 2)
    assert int(res.book.rejections.sum()) == 2  # chunk padding is not counted


def test_replay_continues_from_a_book():
    msgs = order_stream(600, seed=3, capacity=16)
    whole = replay_messages(msgs, capacity=16)
    first = replay_messages(msgs[:250], capacity=16)
    rest = replay_messages(msgs[250:], book=first.book)
    assert np.concatenate([first.fills, rest.fills]).tolist() == whole.fills.tolist()
    assert rest.bids.tolist() == whole.bids.tolist() and rest.asks.tolist() == whole.asks.tolist()

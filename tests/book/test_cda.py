"""Hand-computed cases, invariants, dtypes and compilation of the CDA kernel."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.book import MsgType, Status, empty_book, process, process_logged, query
from quantmarl.book.cda import apply_message
from quantmarl.book.fills import empty_fill_log, fill_log_rows
from quantmarl.testing.streams import order_stream, with_owner
from tests.book.conftest import book_at, rows, scan_states

L, C, D, M = MsgType.LIMIT, MsgType.CANCEL, MsgType.DELETE, MsgType.MARKET


def run(msgs, capacity=8):
    book, log, res = process_logged(empty_book(capacity), empty_fill_log(64), rows(*msgs))
    fills = np.asarray(fill_log_rows(log))[: int(log.count)]
    return book, fills, res


def test_limit_rests_then_fills_at_maker_price_in_price_time_order():
    book, fills, res = run([
        (L, 1, -1, 101, 5, 7),   # ask 101
        (L, 2, -1, 100, 3, 8),   # ask 100 (better)
        (L, 3, -1, 100, 4, 9),   # ask 100, behind id 2
        (L, 4, 1, 101, 10, 1),   # buy sweeps 100 (2 then 3) then 101
    ])
    assert np.asarray(res.status).tolist() == [Status.RESTED] * 3 + [Status.FILLED]
    assert fills[:, :4].tolist() == [[4, 2, 100, 3], [4, 3, 100, 4], [4, 1, 101, 3]]
    assert fills[:, 4].tolist() == [1, 1, 1] and fills[:, 5].tolist() == [8, 9, 7]
    assert int(res.notional[3]) == 3 * 100 + 4 * 100 + 3 * 101
    assert int(query.best_ask(book)) == 101 and int(query.total_qty(book)[1]) == 2
    assert int(query.best_bid(book)) == 0


def test_partial_fill_rests_remainder_and_market_remainder_is_discarded():
    book, fills, res = run([
        (L, 1, 1, 99, 5),
        (L, 2, -1, 98, 8),  # fills 5 at 99, rests 3 at 98
        (M, 3, 1, 0, 10),  # takes 3 at 98, discards 7
        (M, 4, -1, 0, 2),  # nothing to hit
    ])
    assert np.asarray(res.status).tolist() == [
        Status.RESTED, Status.PARTIAL_RESTED, Status.PARTIAL_DISCARDED, Status.DISCARDED]
    assert np.asarray(res.filled).tolist() == [0, 5, 3, 0]
    assert np.asarray(res.rested).tolist() == [5, 3, 0, 0]
    assert fills[:, :4].tolist() == [[2, 1, 99, 5], [3, 2, 98, 3]]
    assert np.asarray(book.count).tolist() == [0, 0]
    assert np.asarray(book.rejections).tolist() == [0, 0, 0, 0]  # discards are not rejections


def test_partial_cancel_keeps_queue_place_full_cancel_and_delete_remove():
    book, fills, res = run([
        (L, 1, 1, 50, 10),
        (L, 2, 1, 50, 10),
        (C, 1, 1, 0, 4),  # id 1 keeps its place with 6
        (M, 3, -1, 0, 7),  # 6 from id 1 then 1 from id 2
        (C, 2, 1, 0, 100),  # qty >= remaining: removed
        (D, 2, 1, 0, 1),  # already gone
    ])
    assert np.asarray(res.status).tolist() == [
        Status.RESTED, Status.RESTED, Status.REDUCED, Status.FILLED, Status.REMOVED,
        Status.REJECTED_UNKNOWN_ID]
    assert fills[:, :4].tolist() == [[3, 1, 50, 6], [3, 2, 50, 1]]
    assert np.asarray(res.cancelled).tolist() == [0, 0, 4, 0, 9, 0]
    assert np.asarray(book.count).tolist() == [0, 0]


def test_rejections_have_reasons_and_no_effect():
    book, fills, res = run([
        (L, 1, 1, 100, 5),
        (L, 1, -1, 90, 5),  # duplicate id (would have crossed)
        (L, 2, 1, 0, 5),  # price <= 0
        (L, 3, 2, 100, 5),  # bad side
        (M, 4, 1, 0, 0),  # qty <= 0
        (9, 5, 1, 100, 5),  # unknown type
        (D, 77, 1, 0, 1),  # unknown id
    ])
    st = np.asarray(res.status).tolist()
    assert st == [Status.RESTED, Status.REJECTED_DUPLICATE_ID] + [Status.REJECTED_INVALID] * 4 + [
        Status.REJECTED_UNKNOWN_ID]
    assert len(fills) == 0
    assert np.asarray(book.rejections).tolist() == [4, 1, 1, 0]
    assert int(query.total_qty(book)[0]) == 5


def test_book_full_rejects_remainder_but_keeps_fills_and_never_overwrites():
    book, fills, res = run([
        (L, 1, 1, 100, 1), (L, 2, 1, 99, 1),  # bids full at capacity 2
        (L, 3, -1, 105, 4), (L, 4, -1, 104, 4),  # asks full
        (L, 5, 1, 98, 1),  # no room: rejected
        (L, 6, 1, 104, 6),  # fills 4 at 104 then 2 left cannot rest: rejected, fills stand
    ], capacity=2)
    assert np.asarray(res.status).tolist()[4:] == [Status.REJECTED_BOOK_FULL] * 2
    assert np.asarray(res.filled).tolist()[5] == 4
    assert fills[:, :4].tolist() == [[6, 4, 104, 4]]
    assert np.asarray(book.order_id[0, :2]).tolist() == [2, 1]  # bids untouched
    assert np.asarray(book.rejections).tolist() == [0, 0, 0, 2]


def test_id_may_be_reused_after_it_leaves_and_time_priority_is_arrival_not_id():
    book, fills, res = run([
        (L, 9, 1, 100, 1),
        (L, 1, 1, 100, 1),  # lower id, later arrival
        (M, 5, -1, 0, 1),  # hits id 9 first
        (L, 9, 1, 100, 1),  # id 9 reused, now behind id 1
        (M, 6, -1, 0, 2),
    ])
    assert fills[:, 1].tolist() == [9, 1, 9]
    assert np.asarray(res.status)[3] == Status.RESTED


def test_large_ids_prices_and_quantities_stay_exact():
    big_id, price, qty = 2**40 + 3, 10**9, 3 * 2**31
    book, fills, res = run([
        (L, big_id, -1, price, qty),
        (L, big_id + 1, -1, price, qty),
        (M, 1, 1, 0, qty + 5),
    ])
    assert int(query.total_qty(book)[1]) == qty - 5  # > 2**32 lots resting at one price
    assert fills[:, :4].tolist() == [[1, big_id, price, qty], [1, big_id + 1, price, 5]]
    assert int(res.notional[2]) == price * (qty + 5)  # ~6.4e18 ticks x lots: int64, exact


def test_sweep_deeper_than_one_window():
    n = 40  # more resting orders than SWEEP_WINDOW (16): the sweep loops
    msgs = [(L, i + 1, -1, 100 + i // 3, 2) for i in range(n)] + [(L, 999, 1, 200, 2 * n - 1)]
    book, fills, res = run(msgs, capacity=64)
    assert len(fills) == n and int(res.filled[-1]) == 2 * n - 1
    assert fills[:, 1].tolist() == list(range(1, n + 1))
    assert int(query.total_qty(book)[1]) == 1 and int(book.count[1]) == 1


def test_int32_inputs_are_refused_not_truncated():
    msgs = rows((L, 1, 1, 100, 5)).astype(jnp.int32)
    with pytest.raises(ValueError, match="int64"):
        process(empty_book(4), msgs)
    with pytest.raises(ValueError, match="shape"):
        process(empty_book(4), jnp.zeros((3, 5), jnp.int64))


def test_capacity_is_validated():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="capacity"):
            empty_book(bad)


def _check_invariants(books, res, msgs):
    """Never crossed, price-time order per side, exact quantity conservation, int64."""
    prev_total = np.zeros(2, np.int64)
    msgs = np.asarray(msgs)
    for i in range(msgs.shape[0]):
        b = book_at(books, i)
        assert b.price.dtype == jnp.int64 and b.qty.dtype == jnp.int64
        bid, ask = int(query.best_bid(b)), int(query.best_ask(b))
        assert bid == 0 or ask == 0 or bid < ask, f"crossed after message {i}"
        for row, sign in ((0, -1), (1, 1)):
            c = int(b.count[row])
            keys = np.asarray(b.price[row, :c]) * sign
            seq = np.asarray(b.seq[row, :c])
            # worst -> best: keys non-increasing; equal keys: later arrival lower
            assert np.all(np.diff(keys) <= 0)
            same = np.diff(keys) == 0
            assert np.all(np.diff(seq)[same] < 0)
            assert np.all(np.asarray(b.qty[row, :c]) > 0)
        total = np.asarray(query.total_qty(b))
        typ, qty = msgs[i, 0], msgs[i, 4]
        st, filled, rested, cancelled = (int(np.asarray(x)[i]) for x in (
            res.status, res.filled, res.rested, res.cancelled))
        # resting lots change by what rested, minus what traded and what was cancelled
        assert total.sum() - prev_total.sum() == rested - filled - cancelled
        if typ in (L, M) and qty > 0:
            rejected = qty - filled - rested if st >= Status.REJECTED_INVALID else 0
            discarded = qty - filled if typ == M and st < Status.REJECTED_INVALID else 0
            assert qty == filled + rested + discarded + rejected
        prev_total = total


@pytest.mark.parametrize("capacity,seed", [(4, 0), (16, 1)])
def test_invariants_after_every_message(capacity, seed):
    raw = order_stream(400, seed=seed, capacity=capacity, invalid_frac=0.05, mid=1000)
    msgs = jnp.asarray(with_owner(raw))
    books, res = scan_states(empty_book(capacity), msgs)
    _check_invariants(books, res, raw)


def test_jit_matches_no_jit_and_vmap_matches_loop():
    streams = np.stack([with_owner(order_stream(120, seed=s, capacity=8)) for s in range(3)])
    msgs = jnp.asarray(streams)
    books = jax.vmap(lambda _: empty_book(8))(jnp.arange(3))
    vb, vres = jax.vmap(process)(books, msgs)
    for i in range(3):
        b, res = process(empty_book(8), msgs[i])
        chex.assert_trees_all_equal((b, res), jax.tree.map(lambda x, i=i: x[i], (vb, vres)))
    with jax.disable_jit():
        book = empty_book(8)
        statuses = []
        for m in msgs[0][:60]:
            book, r, _ = apply_message(book, m)
            statuses.append(int(r.status))
    b, res = process(empty_book(8), msgs[0][:60])
    assert statuses == np.asarray(res.status).tolist()
    chex.assert_trees_all_equal(book, b)


def test_process_compiles_once_per_shape():
    @chex.assert_max_traces(n=1)
    def step_fn(b, m):
        return apply_message(b, m)[:2]

    step = jax.jit(step_fn)
    book = empty_book(8)
    for m in rows((L, 1, 1, 100, 5), (L, 2, -1, 100, 3), (C, 1, 1, 0, 1), (M, 3, -1, 0, 9)):
        book, _ = step(book, m)
    assert np.asarray(book.count).tolist() == [0, 0]


def test_owner_outside_int32_is_rejected_not_truncated():
    book, fills, res = run([(L, 1, 1, 100, 5, 2**31), (L, 2, 1, 100, 5, -3), (L, 3, 1, 100, 5, 7)])
    assert np.asarray(res.status).tolist() == [Status.REJECTED_INVALID] * 2 + [Status.RESTED]
    assert np.asarray(book.owner[0, :1]).tolist() == [7]


def test_noop_slots_do_nothing_and_are_not_rejections():
    noop = -2
    book, fills, res = run([(L, 1, 1, 100, 5), (0, 0, 0, 0, 0, noop), (M, 2, -1, 0, 9, noop),
                            (L, 3, -1, 100, 2)])
    assert np.asarray(res.status).tolist() == [Status.RESTED, Status.NOOP, Status.NOOP,
                                               Status.FILLED]
    assert np.asarray(book.rejections).tolist() == [0, 0, 0, 0]
    assert fills.tolist() == [[3, 1, 100, 2, -1, -1, -1]]  # ..., taker_owner, maker_owner, side


def test_cancel_where_equals_deleting_one_by_one():
    from quantmarl.book.cda import cancel_where
    from quantmarl.testing.refbook import RefBook

    raw = order_stream(300, seed=5, capacity=16)
    book, _ = process(empty_book(16), jnp.asarray(with_owner(raw)))
    ids = np.asarray(book.order_id)
    remove = (ids % 3 == 0) & (np.arange(16)[None, :] < np.asarray(book.count)[:, None])
    new, removed = jax.jit(cancel_where)(book, jnp.asarray(remove))
    ref = RefBook(16)
    for row in raw:
        ref.process(*row)
    lots = [0, 0]
    for r, side in ((0, 1), (1, -1)):
        for oid in ids[r][remove[r]]:
            lots[r] += ref.process(3, int(oid), side, 0, 1).cancelled
    assert np.asarray(removed).tolist() == lots
    for r, side in ((0, 1), (1, -1)):
        c = int(new.count[r])
        got = [int(x) for x in np.asarray(new.order_id[r, :c])[::-1]]  # best first
        assert got == [o.order_id for o in ref.queue(side)]
        assert np.asarray(new.qty[r, :c])[::-1].tolist() == [o.qty for o in ref.queue(side)]

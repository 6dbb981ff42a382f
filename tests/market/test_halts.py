"""Halts queue orders and reopen with a call auction; nothing is dropped silently.

A hand-built market (three learners, no other flow): a 10% flash crash over two
steps trips the breaker at step 2 (its target ``floor(10,000 * (1 - 0.05))`` is
9,499 in floating point; threshold 3%), the
asset is halted at steps 3 and 4 and reopens at step 5. The queue, the
reopening price and every fill are checked against hand-computed values and
the pure-Python call auction (:func:`quantmarl.testing.refauction.ref_clear`).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.agents.background import BackgroundOrders
from quantmarl.book.state import ASK, BID
from quantmarl.events import breaker_rules, flash_crash, make_schedule
from quantmarl.market import (
    ActionKind,
    MarketConfig,
    Rejection,
    SmartActions,
    default_params,
    reset,
    run,
    step,
)
from quantmarl.market.accounting import RiskLimits, fee, new_ledger
from quantmarl.market.halt_queue import empty_queue, enqueue, release
from quantmarl.market.reopen import call_price
from quantmarl.market.risk import no_exposure
from quantmarl.market.risk import room as risk_room
from quantmarl.testing.refauction import ref_clear

POOL = 3  # the background account of the hand-built market (three learners)
M, L, Q, H = ActionKind.MARKET, ActionKind.LIMIT, ActionKind.QUOTE, ActionKind.HOLD


def _config(mode):
    return MarketConfig(n_smart=3, reactive=(), background_orders=0, clearing=mode,
                        book_capacity=16, halt_queue=7, history=8, max_events=2,
                        episode_length=10)


def _params(config):
    return default_params(config).replace(
        schedule=make_schedule([flash_crash(0.1, 2, 2)], capacity=config.max_events),
        breaker=breaker_rules(0.03, window=1, halt_steps=3, history_len=config.history))


def _acts(*rows):
    """rows of (kind, side, offset, qty, offset2, qty2), one per learner."""
    cols = list(zip(*rows, strict=True))
    i64 = lambda c: jnp.asarray(c, jnp.int64)  # noqa: E731
    return SmartActions(kind=jnp.asarray(cols[0], jnp.int32), side=i64(cols[1]),
                        offset=i64(cols[2]), qty=i64(cols[3]), offset2=i64(cols[4]),
                        qty2=i64(cols[5]), asset=jnp.zeros((3,), jnp.int32))


HOLD = (H, 0, 0, 0, 0, 0)
SCRIPT = [
    (HOLD, HOLD, HOLD),
    (HOLD, HOLD, HOLD),
    ((L, 1, -400, 10, 0, 0), HOLD, HOLD),  # buys 10 @ 10,400 into the crash: trips the breaker
    ((L, 1, 50, 6, 0, 0), (L, -1, -20, 4, 0, 0), (M, -1, 0, 3, 0, 0)),  # halted: queued
    ((L, 1, 0, 2, 0, 0), (L, -1, 30, 5, 0, 0), (Q, 0, 10, 2, 10, 2)),  # halted: 2 requotes
    (HOLD, HOLD, HOLD),  # reopening
]
# the queue after step 4: the crash's last burst (9,024 = floor(9,499 * 0.95), size: the 6
# lots bid at or above it, plus one), then the learners' orders in account order, priced
# from the last price 9,499; learner 2's quote replaced its queued market sell (a requote)
QUEUE = [(-1, 9024, 7, POOL), (1, 9449, 6, 0), (-1, 9479, 4, 1), (1, 9499, 2, 0),
         (-1, 9529, 5, 1), (1, 9489, 2, 2), (-1, 9509, 2, 2)]


def _run(mode):
    config = _config(mode)
    params = _params(config)
    run_step = jax.jit(step, static_argnames="config")
    states, records = [reset(jax.random.key(0), config, params)], []
    for t, acts in enumerate(SCRIPT):
        state, rec = run_step(jax.random.key(t), states[-1], _acts(*acts), config, params)
        states.append(state)
        records.append(jax.tree.map(np.asarray, rec))
    return config, params, states, records


@pytest.fixture(scope="module", params=["auction", "cda"])
def market(request):
    return request.param, *_run(request.param)


def test_the_crash_halts_and_every_order_for_the_halted_asset_queues(market):
    mode, config, _, states, recs = market
    assert [bool(r.halted[0]) for r in recs] == [False, False, False, True, True, False]
    assert int(recs[2].close[0]) == 9499 and int(recs[2].volume[0]) == 10
    assert [int(r.volume[0]) for r in recs[3:5]] == [0, 0]  # nothing trades while halted
    assert [int(r.queued[0]) for r in recs] == [0, 0, 0, 4, 7, 0]
    q = states[5].halt_queue
    got = [(int(q.side[0, i]), int(q.price[0, i]), int(q.qty[0, i]), int(q.owner[0, i]))
           for i in range(int(q.count[0]))]
    assert got == QUEUE
    # the queue exactly full (the requote freed a slot): nothing was refused
    assert [int(r.rejected[Rejection.QUEUE_FULL]) for r in recs] == [0] * 6
    assert sum(int(r.rejected.sum()) for r in recs) == 0
    assert all(int(r.queue_refused.sum()) == 0 for r in recs)


def test_reopening_call_matches_the_reference_auction(market):
    mode, config, params, states, recs = market
    before, after, rec = states[5], states[6], recs[5]
    side, price, qty, owner = (list(x) for x in zip(*QUEUE, strict=True))
    if mode == "cda":  # resting orders take part first: the crash's leftover ask (1 lot)
        book = before.books
        assert int(book.count[0, BID]) == 0 and int(book.count[0, ASK]) == 1
        rest = (-1, int(book.price[0, ASK, 0]), int(book.qty[0, ASK, 0]),
                int(book.owner[0, ASK, 0]))
        assert rest == (-1, 9499, 1, POOL)
        side, price, qty, owner = ([r, *x] for r, x in zip(rest, (side, price, qty, owner),
                                                              strict=True))
    ref = ref_clear(side, price, qty, 9499, band=config.auction_band)
    # by hand: D = 10 > S = 7 from 9,024 to 9,449 (the most volume), closest to 9,499
    assert (ref["price"], ref["volume"]) == (9449, 7)
    assert bool(rec.reopened[0]) and not recs[4].reopened.any()
    assert int(rec.close[0]) == int(rec.open[0]) == 9449 and int(rec.volume[0]) == 7
    # every account's cash and position move exactly by its fills at the one price
    cash = np.zeros(config.n_accounts, np.int64)
    pos = np.zeros(config.n_accounts, np.int64)
    for s, f, o in zip(side, ref["filled"], owner, strict=True):
        value = f * 9449
        cash[o] += -s * value - int(fee(jnp.asarray(value), params.fee_bps))
        pos[o] += s * f
    np.testing.assert_array_equal(np.asarray(after.ledger.cash - before.ledger.cash), cash)
    np.testing.assert_array_equal(np.asarray(after.ledger.position - before.ledger.position)[:, 0],
                                  pos)
    assert int(after.ledger.fees_collected - before.ledger.fees_collected) == -cash.sum()
    # nothing lost: every queued lot executed, rests (CDA) or was left unexecuted (auction)
    left = [q - f for q, f in zip(qty, ref["filled"], strict=True)]
    assert sum(ref["filled"]) + sum(left) == sum(qty)
    assert int(rec.best_ask[0]) == 9479 and int(rec.best_bid[0]) == 9449  # uncrossed
    if mode == "cda":  # unexecuted limits rest, the crash's ask keeps its time priority
        book = after.books
        asks = [(int(book.price[0, ASK, i]), int(book.qty[0, ASK, i]), int(book.owner[0, ASK, i]))
                for i in range(int(book.count[0, ASK]) - 1, -1, -1)]  # best first
        assert asks == [(9479, 4, 1), (9499, 1, POOL), (9509, 2, 2), (9529, 5, 1)]
        assert int(book.count[0, BID]) == 1 and int(book.qty[0, BID, 0]) == 3  # 9,449's rest
        ids = np.concatenate([np.asarray(book.order_id[0, s, : int(book.count[0, s])])
                              for s in (BID, ASK)])
        assert len(set(ids.tolist())) == len(ids)
    assert not after.halt_queue.count.any()


def test_conservation_holds_through_the_halt(market):
    _, _, _, states, _ = market
    cash0, pos0 = (np.asarray(x) for x in states[0].ledger.totals())
    for st in states[1:]:
        cash, pos = (np.asarray(x) for x in st.ledger.totals())
        assert cash == cash0 and np.array_equal(pos, pos0)


def test_enqueue_keeps_arrival_order_and_counts_what_does_not_fit():
    queue = empty_queue(2, 4)
    flat = tuple(jnp.asarray(x, t) for x, t in (([1, -1, 1, 0, -1], jnp.int64),
                                                ([100, 0, 99, 0, 101], jnp.int64),
                                                ([5, 6, 7, 0, 8], jnp.int64),
                                                ([0, 0, 1, 0, 0], jnp.int32)))
    owners = jnp.asarray([0, 0, 1, 1, 2], jnp.int32)
    pool = BackgroundOrders(side=jnp.asarray([[-1, 1, 1], [0, -1, 0]], jnp.int64),  # col 0: burst
                            price=jnp.asarray([[90, 98, 97], [0, 102, 0]], jnp.int64),
                            qty=jnp.asarray([[9, 1, 2], [0, 3, 0]], jnp.int64))
    halted = jnp.asarray([True, False])
    q, agents, pooled = enqueue(queue, flat, owners, pool, halted, 3)
    # asset 0: burst, agents 0, 0 and 2, then the pool: 6 orders, 4 fit
    assert q.side[0].tolist() == [-1, 1, -1, -1] and q.qty[0].tolist() == [9, 5, 6, 8]
    assert q.owner[0].tolist() == [3, 0, 0, 2] and q.count.tolist() == [4, 0]
    assert int(agents) == 0 and pooled.tolist() == [2, 0] and q.refused.tolist() == [2, 0]
    q2, agents2, pooled2 = enqueue(q, flat, owners, pool, halted, 3)  # full: all six refused
    assert int(agents2) == 3 and pooled2.tolist() == [3, 0] and q2.refused.tolist() == [5, 0]
    assert not q2.side[1].any()  # the trading asset queues nothing


def test_release_checks_queued_orders_cumulatively_against_the_ledger():
    queue = empty_queue(1, 4).replace(
        side=jnp.asarray([[1, 1, 1, -1]], jnp.int64), price=jnp.asarray([[100, 0, 100, 0]]),
        qty=jnp.asarray([[4, 4, 4, 9]], jnp.int64), owner=jnp.asarray([[0, 0, 0, 1]], jnp.int32),
        count=jnp.asarray([4], jnp.int32))
    params = default_params(MarketConfig()).replace(
        fee_bps=jnp.asarray(0, jnp.int64),
        risk=RiskLimits(min_cash=jnp.asarray(0, jnp.int64), max_position=jnp.asarray(100,
                        jnp.int64), allow_short=jnp.asarray(False)))
    ledger = new_ledger(jnp.asarray([1000, 0, 0], jnp.int64), jnp.asarray([[0], [5], [0]]))
    room = risk_room(ledger, params.risk, no_exposure(3, 1))
    # cash 1,000 covers 4 lots at 100 twice (the market buy's worst price is 110): the
    # first and the market buy (400 + 440) fit, the third does not (840 + 400 > 1,000);
    # account 1 holds 5 lots and may not sell 9 (no shorts)
    fees = (params.tick_value, params.fee_bps)
    out, refused = release(queue, jnp.asarray([True]), room, jnp.asarray([110]), *fees, 2)
    assert out.side.tolist() == [[1, 1, 0, 0]] and int(refused) == 2
    none, zero = release(queue, jnp.asarray([False]), room, jnp.asarray([110]), *fees, 2)
    assert not none.side.any() and int(zero) == 0
    # what the owner's other orders (resting, or queued for other assets) commit is left out:
    # with 400 and 1 lot of a 5-lot limit already committed, only the first buy fits
    committed = no_exposure(3, 1).replace(buy_cost=jnp.asarray([400, 0, 0], jnp.int64),
                                          buy_qty=jnp.asarray([[95], [0], [0]], jnp.int64),
                                          sell_qty=jnp.asarray([[0], [1], [0]], jnp.int64))
    tight = risk_room(ledger, params.risk, committed)
    out, refused = release(queue, jnp.asarray([True]), tight, jnp.asarray([110]), *fees, 2)
    assert out.side.tolist() == [[1, 0, 0, 0]] and int(refused) == 3


def test_call_price_matches_the_reference():
    rng = np.random.default_rng(0)
    cases, n = 60, 12  # all cases in one compiled call
    side = rng.choice([-1, 1], (cases, n))
    price = np.where(rng.random((cases, n)) < 0.2, 0,
                     rng.integers(60, 91, (cases, n)) + rng.integers(0, 2, (cases, 1)) * 30)
    qty = rng.integers(1, 9, (cases, n))
    got = jax.jit(jax.vmap(call_price, in_axes=(0, 0, 0, None)))(
        *(jnp.asarray(x, jnp.int64) for x in (side, price, qty)), jnp.asarray(100, jnp.int64))
    for c in range(cases):
        want = ref_clear(side[c], price[c], qty[c], 100, band=60)["price"]
        assert int(got[c]) == want, (side[c], price[c], qty[c])


def test_without_halts_the_queue_changes_nothing():
    """Breaker off (a crash still runs): the queue stays empty and its capacity (which
    also spaces the CDA order ids) leaves every record unchanged."""
    recs = []
    for cap in (1, 64):
        config = MarketConfig(n_smart=0, reactive=(("market_maker", 1), ("noise", 4)),
                              background_orders=8, clearing="cda", book_capacity=16, history=4,
                              halt_queue=cap, max_events=2, episode_length=20)
        params = default_params(config).replace(
            schedule=make_schedule([flash_crash(0.1, 3, 5)], capacity=config.max_events))
        state, rec = run(jax.random.key(5), config, params)
        assert not state.halt_queue.count.any() and not state.halt_queue.refused.any()
        recs.append(rec)
    a, b = recs
    assert not a.reopened.any() and not a.queued.any() and not a.queue_refused.any()
    assert int(a.rejected[:, Rejection.QUEUE_FULL].sum()) == 0 and int(a.volume.sum()) > 0
    chex.assert_trees_all_equal(a, b)


def test_cda_call_leaves_an_uncrossed_book_and_loses_no_lot():
    """Random books and queues (limits far beyond the kernel's band included): after the
    call the book is uncrossed, sorted, and every lot is filled, resting or refused."""
    from quantmarl.book.cda import process
    from quantmarl.book.state import empty_book
    from quantmarl.market.halt_queue import Queued
    from quantmarl.market.reopen import call_books

    config = MarketConfig(n_smart=4, reactive=(), halt_queue=8, book_capacity=6,
                          clearing="cda", auction_band=8)
    rng = np.random.default_rng(1)
    cases = 25  # all cases in one compiled call: books built, then called, vmapped over cases
    msgs = np.zeros((cases, 5, 6), np.int64)
    for c in range(cases):
        msgs[c] = [[1, i, s, 1000 - s * int(rng.integers(1, 40)), int(rng.integers(1, 5)), 0]
                   for i, s in enumerate(rng.choice([-1, 1], 5))]
    sides = rng.choice([-1, 1], (cases, 1, 8))
    prices = np.where(rng.random((cases, 1, 8)) < 0.2, 0,
                      1000 + rng.integers(-60, 61, (cases, 1, 8)))
    queues = Queued(side=jnp.asarray(sides), price=jnp.asarray(prices),
                    qty=jnp.asarray(rng.integers(1, 6, (cases, 1, 8))),
                    owner=jnp.asarray(rng.integers(0, 5, (cases, 1, 8)), jnp.int32),
                    reopen=jnp.ones((cases, 1), bool))

    @jax.jit
    @jax.vmap
    def build_and_call(m, q):
        book = jax.tree.map(lambda x: x[None], process(empty_book(6), m)[0])
        return (book, *call_books(book, q, jnp.asarray([1000]), config,
                                  jnp.asarray(10_000, jnp.int64)))

    books, news, results = build_and_call(jnp.asarray(msgs), queues)
    for c in range(cases):
        book, new, res = (jax.tree.map(lambda x, c=c: x[c], t) for t in (books, news, results))
        queued = jax.tree.map(lambda x, c=c: x[c], queues)
        side, price = sides[c, 0], prices[c, 0]
        n_bid, n_ask = (int(x) for x in new.count[0])
        bids, asks = np.asarray(new.price[0, 0, :n_bid]), np.asarray(new.price[0, 1, :n_ask])
        assert np.all(np.diff(bids) >= 0) and np.all(np.diff(asks) <= 0)  # worst .. best
        if n_bid and n_ask:
            assert bids[-1] < asks[-1], (bids, asks)
        before = int(book.qty.sum()) + int(queued.qty.sum())
        market_left = sum(int(q) for s, p, q in zip(side, price, queued.qty[0], strict=True)
                          if p == 0)  # at most: a market remainder is discarded
        full = int(new.rejections[0].sum() - book.rejections[0].sum())
        moved = 2 * int(res.volume[0]) + int(new.qty.sum())
        assert moved <= before and before - moved <= market_left + 5 * full
        filled = np.asarray(res.filled[0])
        assert int(np.sum(np.asarray(res.side[0]) * filled)) == 0  # bought = sold at one price
        assert int(filled.sum()) == 2 * int(res.volume[0])


@pytest.mark.parametrize("mode", ["auction", "cda"])
def test_a_requote_replaces_the_accounts_queued_orders(mode):
    """A learner quoting at every halted step keeps only its latest quote queued (counted once
    against its limits); another learner's plain limit orders pile up as sent."""
    config = _config(mode)
    params = _params(config)
    quote3, quote4 = (Q, 0, 10, 2, 10, 2), (Q, 0, 20, 3, 20, 3)
    buy = (L, 1, 50, 1, 0, 0)
    script = SCRIPT[:3] + [(quote3, buy, HOLD), (quote4, buy, HOLD)]
    run_step = jax.jit(step, static_argnames="config")
    state = reset(jax.random.key(0), config, params)
    recs = []
    for t, acts in enumerate(script):
        state, rec = run_step(jax.random.key(t), state, _acts(*acts), config, params)
        recs.append(rec)
    assert [bool(r.halted[0]) for r in recs[3:]] == [True, True]
    q = state.halt_queue
    rows = [(int(q.side[0, i]), int(q.qty[0, i]), int(q.owner[0, i]))
            for i in range(int(q.count[0]))]
    agents = [r for r in rows if r[2] != POOL]
    assert agents == [(1, 1, 1), (1, 3, 0), (-1, 3, 0), (1, 1, 1)]  # step 4's quote only
    assert int(recs[-1].queued[0]) == len(rows)
    assert sum(int(r.rejected.sum()) for r in recs) == 0

"""Pre-trade risk arithmetic, hand-computed: several orders of one agent in one step,
resting orders plus new ones, fees, the worst price of market buys, no overflow."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.agents.background import BackgroundOrders
from quantmarl.agents.view import Orders
from quantmarl.book.cda import process
from quantmarl.book.state import MsgType, empty_book
from quantmarl.events import flash_rally, make_schedule
from quantmarl.market import ActionKind, MarketConfig, Rejection, default_params, hold, reset, step
from quantmarl.market.accounting import RiskLimits
from quantmarl.market.pretrade import market_buy_bound
from quantmarl.market.risk import admit, buy_cost, resting_exposure

I64 = jnp.int64


def _admit(side, qty, price, cash_room, long_room, short_room, asset=None, fee_bps=0,
           tick_value=1, candidate=None):
    side = jnp.asarray([side], I64)
    k = side.shape[1]
    asset = jnp.zeros_like(side, jnp.int32) if asset is None else jnp.asarray([asset], jnp.int32)
    ok = admit(side != 0 if candidate is None else jnp.asarray([candidate]), side,
               jnp.asarray([qty], I64), jnp.asarray([price], I64), asset,
               jnp.asarray([cash_room], I64), jnp.broadcast_to(jnp.asarray(long_room, I64), (1, k)),
               jnp.broadcast_to(jnp.asarray(short_room, I64), (1, k)),
               jnp.asarray(tick_value, I64), jnp.asarray(fee_bps, I64))
    return np.asarray(ok[0]).tolist()


def test_two_buys_of_one_step_share_the_cash_room():
    # cash room 1000: 6 lots at 100 cost 600, a second 6 would need 1200 in all
    assert _admit([1, 1], [6, 6], [100, 100], 1000, 100, 100) == [True, False]
    # the second fits what the first leaves: 600 + 400 = 1000, exactly at the floor
    assert _admit([1, 1], [6, 4], [100, 100], 1000, 100, 100) == [True, True]
    # a refused first order leaves its room to the second
    assert _admit([1, 1], [11, 4], [100, 100], 1000, 100, 100) == [False, True]


def test_orders_of_one_step_share_the_position_room():
    # long room 10: 6 + 5 lots breach it, 6 + 4 do not; sells use the short room alone
    assert _admit([1, 1], [6, 5], [1, 1], 10**6, 10, 10) == [True, False]
    assert _admit([1, 1], [6, 4], [1, 1], 10**6, 10, 10) == [True, True]
    assert _admit([-1, -1], [7, 4], [1, 1], 10**6, 10, 10) == [True, False]
    # a bid and an ask (a market maker's quote) never add up against each other
    assert _admit([1, -1], [10, 10], [100, 101], 1000, 10, 10) == [True, True]
    # orders in other assets have their own position rooms but share the cash
    assert _admit([1, 1], [6, 6], [1, 1], 10**6, 6, 6, asset=[0, 1]) == [True, True]
    assert _admit([1, 1], [6, 6], [100, 100], 1000, 6, 6, asset=[0, 1]) == [True, False]


def test_fees_count_against_the_cash_room():
    # 10 lots at 1,000 ticks, tick value 1, 25 bp: 10,000 + 25 = 10,025 minor units
    cost, fits = buy_cost(jnp.asarray(10, I64), jnp.asarray(1000, I64), jnp.asarray(1, I64),
                          jnp.asarray(25, I64))
    assert (int(cost), bool(fits)) == (10_025, True)
    assert _admit([1], [10], [1000], 10_024, 100, 100, fee_bps=25) == [False]
    assert _admit([1], [10], [1000], 10_025, 100, 100, fee_bps=25) == [True]
    # tick value 3: 30,000 + floor(30,000 * 25 / 10,000) = 30,075
    assert _admit([1], [10], [1000], 30_074, 100, 100, fee_bps=25, tick_value=3) == [False]
    # sells never need cash: proceeds minus fees are >= 0
    assert _admit([-1], [10], [1000], -5, 100, 100, fee_bps=10_000) == [True]


def test_non_candidates_and_empty_orders_use_no_room():
    assert _admit([1, 1], [6, 6], [100, 100], 1000, 100, 100, candidate=[False, True]) == [
        False, True]
    assert _admit([1, 1], [-50, 10], [100, 100], 1000, 10, 10) == [True, True]


def test_huge_orders_are_refused_without_overflow():
    big = 2**62
    assert _admit([1], [big], [big], 2**62, big, big) == [False]
    assert _admit([1], [10**12], [10**9], 2**62, 10**13, 10**13, tick_value=10) == [False]
    assert _admit([-1], [big], [1], 0, big, big - 1) == [False]
    cost, fits = buy_cost(jnp.asarray(2**40, I64), jnp.asarray(2**30, I64), jnp.asarray(4, I64),
                          jnp.asarray(0, I64))
    assert not bool(fits) and int(cost) == 0


def _book(rows, capacity=8):
    msgs = jnp.asarray([[MsgType.LIMIT, i + 1, s, p, q, o] for i, (s, p, q, o) in enumerate(rows)],
                       I64)
    return process(empty_book(capacity), msgs)[0]


def test_resting_exposure_counts_each_agents_resting_orders():
    # agent 0 bids 3 @ 100 and 2 @ 99, asks 4 @ 110; agent 2 asks 5 @ 111; 20 bp fees
    book = _book([(1, 100, 3, 0), (1, 99, 2, 0), (-1, 110, 4, 0), (-1, 111, 5, 2)])
    books = jax.tree.map(lambda x: x[None], book)
    gone = jnp.zeros((1, 2, 8), bool)
    e = resting_exposure(books, gone, 4, jnp.asarray(2, I64), jnp.asarray(20, I64))
    assert np.asarray(e.buy_qty[:, 0]).tolist() == [5, 0, 0, 0]
    assert np.asarray(e.sell_qty[:, 0]).tolist() == [4, 0, 5, 0]
    # 3 * 100 * 2 = 600 -> fee 1; 2 * 99 * 2 = 396 -> fee 0
    assert np.asarray(e.buy_cost).tolist() == [997, 0, 0, 0]
    # orders about to be cancelled (the 100 bid sits on top: slot 1) are not counted
    gone = gone.at[0, 0, 1].set(True)
    e = resting_exposure(books, gone, 4, jnp.asarray(2, I64), jnp.asarray(20, I64))
    assert np.asarray(e.buy_qty[:, 0]).tolist() == [2, 0, 0, 0]
    assert int(e.buy_cost[0]) == 396


def test_resting_orders_and_new_orders_together():
    # resting: 5 lots bought at most (cost 997), 4 sold; cash room 2,000, max position 10
    cash_room, long_room, short_room = 2000 - 997, 10 - 0 - 5, 10 + 0 - 4
    assert _admit([1], [5], [201], cash_room, long_room, short_room) == [False]  # 1,005 > 1,003
    assert _admit([1], [5], [200], cash_room, long_room, short_room) == [True]  # 1,000
    assert _admit([1], [6], [1], cash_room, long_room, short_room) == [False]  # 5 + 6 > 10
    assert _admit([-1], [6], [1], cash_room, long_room, short_room) == [True]  # 4 + 6 = 10
    assert _admit([-1], [7], [1], cash_room, long_room, short_room) == [False]


def test_market_buy_bound_covers_every_ask_of_the_step():
    config = MarketConfig(n_assets=2, reactive=(("noise", 2),), clearing="cda",
                          book_capacity=8, background_orders=2)
    state = reset(jax.random.key(0), config, default_params(config))
    book = _book([(-1, 10_500, 1, 0), (-1, 10_200, 1, 1)])
    books = jax.tree.map(lambda x, y: x.at[1].set(y), state.books, book)
    state = state.replace(books=books)
    z = jnp.zeros((0, 2), I64)
    smart = Orders(side=z, price=z, qty=z, asset=z.astype(jnp.int32))
    agents = Orders(side=jnp.asarray([[-1], [-1]], I64), price=jnp.asarray([[10_300], [0]], I64),
                    qty=jnp.ones((2, 1), I64), asset=jnp.asarray([[0], [1]], jnp.int32))
    bg = BackgroundOrders(side=jnp.asarray([[1, -1], [-1, 1]], I64),
                          price=jnp.asarray([[20_000, 10_100], [10_400, 30_000]], I64),
                          qty=jnp.ones((2, 2), I64))
    ref = jnp.asarray([10_000, 10_000], I64)
    bound = market_buy_bound(state, config, (smart, agents), bg, ref)
    # asset 0: agent ask 10,300 (background buys don't count); asset 1: resting 10,500
    assert np.asarray(bound).tolist() == [10_300, 10_500]
    auction = MarketConfig(n_assets=2, reactive=(("noise", 2),), auction_band=64)
    assert np.asarray(market_buy_bound(state, auction, (smart, agents), bg,
                                       jnp.asarray([10_000, 11_000], I64))).tolist() == [
        10_064, 11_064]


def test_a_market_buy_during_a_rally_is_priced_at_the_auctions_band_top():
    """The auction's band is centred on the rally's target (11,000 ticks here), not on the
    last price: a market buy that fits the cash only at last + band (10,064) is refused."""
    config = MarketConfig(n_smart=1, reactive=(("noise", 4),), background_orders=64,
                          auction_band=64)
    p = default_params(config)
    p = p.replace(initial_cash=jnp.asarray(3 * 10_064 + 10, I64),
                  schedule=make_schedule([flash_rally(0.1, 1, 0)], capacity=config.max_events),
                  risk=RiskLimits(min_cash=jnp.asarray(0, I64),
                                  max_position=jnp.asarray(10_000, I64),
                                  allow_short=jnp.asarray(True)))
    state = reset(jax.random.key(0), config, p)
    buy = hold(1).replace(kind=jnp.array([ActionKind.MARKET], jnp.int32),
                          side=jnp.array([1], I64), qty=jnp.array([3], I64))
    after, rec = jax.jit(step, static_argnames="config")(jax.random.key(1), state, buy, config, p)
    assert int(rec.close[0]) > 10_900  # cleared near the target
    # the learner's buy is refused (noise traders, on the same small cash, may be too)
    assert int(rec.rejected[Rejection.RISK_LIMIT]) >= 1 and int(rec.agent_qty[0, 0]) == 0
    assert int(after.ledger.cash[0]) == 3 * 10_064 + 10

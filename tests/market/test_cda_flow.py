"""CDA order flow: traders replace their resting orders (``replace_orders``), market
makers' fresh quotes open the step (``quote_priority``), and a large ABIDES-like
population keeps both sides of the book."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.agents.background import BackgroundOrders
from quantmarl.book.state import MSG_ID
from quantmarl.market import MarketConfig, default_params, run
from quantmarl.market.clearing import _arrivals
from quantmarl.market.layout import groups
from quantmarl.market.orders import quoting_rows, reviewing


def test_reviewing_draws_reactive_traders_only_with_the_given_probability():
    config = MarketConfig(n_smart=2, reactive=(("noise", 1000),), clearing="cda")
    params = default_params(config)
    for prob, lo, hi in ((0.0, 0, 0), (1.0, 1000, 1000), (0.3, 240, 360)):
        mask = np.asarray(reviewing(jax.random.key(3), params.replace(
            replace_orders=jnp.asarray(prob)), config))
        assert mask.shape == (config.n_accounts,)
        assert not mask[:2].any() and not mask[-1]  # learners and the pool never
        assert lo <= mask.sum() <= hi, (prob, mask.sum())


def _arrival_ids(config, priority, key):
    """Order ids (= slots, first_id 0) of one asset's rows in arrival order, every slot live."""
    params = default_params(config).replace(quote_priority=jnp.asarray(priority))
    m = int(quoting_rows(config).size)
    flat = (jnp.ones(m, jnp.int64), jnp.full(m, 100, jnp.int64), jnp.ones(m, jnp.int64),
            jnp.zeros(m, jnp.int32))
    n_bg = config.background_orders + 1  # the burst's slot first
    bg = BackgroundOrders(side=jnp.ones((1, n_bg), jnp.int64),
                          price=jnp.full((1, n_bg), 100, jnp.int64),
                          qty=jnp.ones((1, n_bg), jnp.int64))
    rows = _arrivals(key, config, params, flat, jnp.zeros(1, bool), bg, 0)
    return np.asarray(rows[0, :, MSG_ID]), m


def test_quotes_open_the_step_with_priority_one_and_are_shuffled_with_zero():
    config = MarketConfig(reactive=(("market_maker", 3), ("noise", 10)), background_orders=8,
                          clearing="cda")
    assert quoting_rows(config).tolist() == [True] * 6 + [False] * 10
    front = []
    for i in range(20):
        ids, m = _arrival_ids(config, 1.0, jax.random.key(i))
        assert ids[0] == m  # the burst's slot comes first
        assert sorted(ids[1:7]) == list(range(6))  # then every market maker's quote
        assert sorted(ids) == list(range(m + 9))  # a permutation of all the rows
        ids0, _ = _arrival_ids(config, 0.0, jax.random.key(i))
        assert ids0[0] == m and sorted(ids0) == list(range(m + 9))
        front.append(sorted(ids0[1:7]) == list(range(6)))
    assert not any(front)  # without priority the quotes land anywhere


def test_a_market_order_burst_arrives_at_a_random_place():
    """A sell program's burst (a market order, price 0) is not put first, unlike a crash's
    limit at its target."""
    config = MarketConfig(reactive=(("market_maker", 3), ("noise", 10)), background_orders=8,
                          clearing="cda")
    params = default_params(config).replace(quote_priority=jnp.asarray(0.0))
    m = int(quoting_rows(config).size)
    flat = (jnp.ones(m, jnp.int64), jnp.full(m, 100, jnp.int64), jnp.ones(m, jnp.int64),
            jnp.zeros(m, jnp.int32))
    n_bg = config.background_orders + 1
    places = []
    for i in range(20):
        bg = BackgroundOrders(side=jnp.full((1, n_bg), -1, jnp.int64),
                              price=jnp.zeros((1, n_bg), jnp.int64).at[0, 1:].set(100),
                              qty=jnp.ones((1, n_bg), jnp.int64))
        rows = _arrivals(jax.random.key(i), config, params, flat, jnp.zeros(1, bool), bg, 0)
        ids = np.asarray(rows[0, :, MSG_ID])
        assert sorted(ids) == list(range(m + n_bg))
        places.append(int(np.flatnonzero(ids == m)[0]))
    assert len(set(places)) > 5 and np.mean(np.array(places) == 0) < 0.3, places


ABIDES_LIKE = (("market_maker", 2), ("fundamental", 102), ("momentum", 12), ("noise", 1000))


def test_an_abides_like_population_keeps_its_book_open_and_its_trend_followers_trade():
    """1,116 traders on a 256-slot book, 300 steps (the first 50 dropped). Before the
    replacement of resting orders, the book filled up (4-8 of about 1,100 orders a step
    refused as book-full, 800 steps, 2 seeds). Tolerances: no book-full refusal; a side
    empty after at most 25% of the steps (8-15% measured over 800 steps, 2 seeds); each
    trend follower trades in at least 5% of the steps (14-37% measured)."""
    config = MarketConfig(clearing="cda", reactive=ABIDES_LIKE, book_capacity=256)
    _, rec = run(jax.random.key(0), config, default_params(config), 300)
    rec = jax.tree.map(lambda x: np.asarray(x)[50:], rec)
    assert rec.rejected[:, -1].sum() == 0  # book-full (and any other book) refusals
    empty = (rec.best_bid[:, 0] == 0) | (rec.best_ask[:, 0] == 0)
    assert empty.mean() <= 0.25, empty.mean()
    g = next(g for g in groups(config) if g.name == "momentum")
    traded = rec.agent_qty[:, g.start:g.start + g.count, 0] != 0  # [T, 12]
    assert traded.mean() >= 0.05, traded.mean()

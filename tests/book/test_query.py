"""Book queries on hand-built books."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.book import MsgType, empty_book, process, query
from tests.book.conftest import rows

L = MsgType.LIMIT


def _book():
    msgs = rows(
        (L, 1, 1, 99, 5), (L, 2, 1, 100, 2), (L, 3, 1, 99, 1), (L, 4, 1, 97, 4),
        (L, 5, -1, 103, 3), (L, 6, -1, 102, 7), (L, 7, -1, 103, 1),
    )
    return process(empty_book(8), msgs)[0]


def test_best_prices_spread_mid_and_totals():
    b = _book()
    assert int(query.best_bid(b)) == 100 and int(query.best_ask(b)) == 102
    assert int(query.spread(b)) == 2 and float(query.mid(b)) == 101.0
    assert int(query.mid_x2(b)) == 202
    assert np.asarray(query.total_qty(b)).tolist() == [12, 11]


def test_ladder_and_imbalance():
    prices, qty = query.ladder(_book(), k=4)
    assert np.asarray(prices).tolist() == [[100, 99, 97, 0], [102, 103, 0, 0]]
    assert np.asarray(qty).tolist() == [[2, 6, 4, 0], [7, 4, 0, 0]]
    assert abs(float(query.imbalance(_book(), k=1)) - (2 - 7) / 9) < 1e-12
    assert abs(float(query.imbalance(_book(), k=3)) - (12 - 11) / 23) < 1e-12


def test_empty_book_queries():
    b = empty_book(4)
    assert int(query.best_bid(b)) == 0 and int(query.spread(b)) == -1
    assert np.isnan(float(query.mid(b))) and float(query.imbalance(b)) == 0.0


def test_queries_vmap_and_jit():
    b = _book()
    books = jax.tree.map(lambda x: jnp.stack([x, x]), b)
    ladders = jax.jit(jax.vmap(lambda bk: query.ladder(bk, 2)))(books)
    assert np.asarray(ladders[0]).shape == (2, 2, 2)
    assert np.asarray(jax.vmap(query.spread)(books)).tolist() == [2, 2]

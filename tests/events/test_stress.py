"""Flash crash / rally bursts: target price, size meeting every willing order, halts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.book.state import empty_book
from quantmarl.events.effects import no_effects
from quantmarl.events.stress import stress_burst

LAST = jnp.array([1000, 1000, 1000], jnp.int64)
# per asset: a market buy of 5, a buy limit at 950 of 7, a buy limit at 800 of 11, a sell of 3
SIDE = jnp.tile(jnp.array([[1, 1, 1, -1]], jnp.int64), (3, 1))
PRICE = jnp.tile(jnp.array([[0, 950, 800, 990]], jnp.int64), (3, 1))
QTY = jnp.tile(jnp.array([[5, 7, 11, 3]], jnp.int64), (3, 1))


def test_crash_sells_to_the_target_and_meets_every_willing_buy():
    fx = no_effects(3).replace(sell_pressure=jnp.array([0.125, 0.0, 0.125], jnp.float32),
                               buy_pressure=jnp.array([0.0, 0.0625, 0.0], jnp.float32))
    halted = jnp.array([False, False, True])
    b = stress_burst(LAST, fx, halted, SIDE, PRICE, QTY)
    # asset 0: crash to floor(1000 * 0.875) = 875; buys at >= 875: 5 + 7, plus one
    # asset 1: rally to ceil(1000 * 1.0625) = 1063; sells at <= 1063: 3, plus one
    # asset 2: halted, no burst
    assert np.asarray(b.side[:, 0]).tolist() == [-1, 1, 0]
    assert np.asarray(b.price[:, 0]).tolist() == [875, 1063, 0]
    assert np.asarray(b.qty[:, 0]).tolist() == [13, 4, 0]
    assert np.asarray(b.reference).tolist() == [875, 1063, 1000]
    assert b.side.dtype == b.price.dtype == b.qty.dtype == jnp.int64


def test_crash_also_meets_resting_bids():
    fx = no_effects(1).replace(sell_pressure=jnp.array([0.125], jnp.float32))
    book = empty_book(4)
    book = book.replace(price=book.price.at[0, :2].set(jnp.array([960, 850])),
                        qty=book.qty.at[0, :2].set(jnp.array([20, 30])),
                        count=book.count.at[0].set(2))
    books = jax.tree.map(lambda x: x[None], book)  # one asset
    b = stress_burst(LAST[:1], fx, jnp.array([False]), SIDE[:1], PRICE[:1], QTY[:1], books)
    assert int(b.qty[0, 0]) == 5 + 7 + 20 + 1  # the bid at 850 is below the target (875)


def test_no_pressure_no_burst():
    b = stress_burst(LAST, no_effects(3), jnp.zeros(3, bool), SIDE, PRICE, QTY)
    assert not np.asarray(b.qty).any() and np.asarray(b.reference).tolist() == [1000] * 3

"""Exact ledger arithmetic, conservation and risk limits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quantmarl.market.accounting import (
    account_deltas,
    apply_deltas,
    fee,
    new_ledger,
    settle,
)

I64 = jnp.int64


def test_fee_is_floor_and_never_overflows():
    assert int(fee(jnp.asarray(12_345, I64), jnp.asarray(25, I64))) == 12_345 * 25 // 10_000
    huge = jnp.asarray(9 * 10**17, I64)  # notional * bps would overflow int64
    assert int(fee(huge, jnp.asarray(10_000, I64))) == 9 * 10**17
    assert int(fee(huge, jnp.asarray(3, I64))) == 9 * 10**17 * 3 // 10_000


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 2**62), bps=st.integers(0, 10_000))
def test_fee_matches_python_integers(n, bps):
    assert int(fee(jnp.asarray(n, I64), jnp.asarray(bps, I64))) == n * bps // 10_000


def test_settle_books_cash_positions_and_fees_exactly():
    ledger = new_ledger(jnp.array([1_000_000, 1_000_000, 0], I64), jnp.zeros((3, 2), I64))
    # agent 0 buys 7 lots of asset 1 from agent 1 at 250 ticks; tick value 3; fee 10 bps each
    out = settle(
        ledger,
        owner=jnp.array([0, 1, 2], jnp.int32),
        asset=jnp.array([1, 1, 0], jnp.int32),
        side=jnp.array([1, -1, 1], I64),
        qty=jnp.array([7, 7, 0], I64),  # last row is padding
        price=jnp.array([250, 250, 999], I64),
        tick_value=jnp.asarray(3, I64),
        fee_bps=jnp.array([10, 10, 10], I64),
    )
    value, f = 7 * 250 * 3, (7 * 250 * 3) * 10 // 10_000
    assert np.asarray(out.cash).tolist() == [1_000_000 - value - f, 1_000_000 + value - f, 0]
    assert np.asarray(out.position).tolist() == [[0, 7], [0, -7], [0, 0]]
    assert int(out.fees_collected) == 2 * f
    before, after = ledger.totals(), out.totals()
    assert int(before[0]) == int(after[0])
    assert np.asarray(before[1]).tolist() == np.asarray(after[1]).tolist()


def test_settle_conserves_over_random_balanced_trades():
    rng = np.random.default_rng(0)
    n, a, m = 50, 3, 400
    ledger = new_ledger(jnp.asarray(rng.integers(0, 10**9, n)), jnp.zeros((n, a), I64))
    step = jax.jit(settle)
    total0 = ledger.totals()
    for _ in range(5):
        buyer, seller = rng.integers(0, n, m), rng.integers(0, n, m)
        asset, qty = rng.integers(0, a, m), rng.integers(0, 10**6, m)
        price = rng.integers(1, 10**9, m)
        ledger = step(
            ledger,
            jnp.asarray(np.r_[buyer, seller], jnp.int32),
            jnp.asarray(np.r_[asset, asset], jnp.int32),
            jnp.asarray(np.r_[np.ones(m), -np.ones(m)].astype(np.int64)),
            jnp.asarray(np.r_[qty, qty]), jnp.asarray(np.r_[price, price]),
            jnp.asarray(7, I64), jnp.asarray(rng.integers(0, 50, 2 * m)),
        )
        total = ledger.totals()
        assert int(total[0]) == int(total0[0])
        assert np.asarray(total[1]).tolist() == np.asarray(total0[1]).tolist()
        assert ledger.cash.dtype == I64 and ledger.position.dtype == I64


def test_account_deltas_match_settle():
    rng = np.random.default_rng(1)
    n, k, a = 20, 3, 2
    side = jnp.asarray(rng.choice([-1, 0, 1], (n, k)))
    qty = jnp.where(side != 0, jnp.asarray(rng.integers(1, 10**6, (n, k))), 0)
    price = jnp.asarray(rng.integers(1, 10**9, (n, k)))
    asset = jnp.asarray(rng.integers(0, a, (n, k)), jnp.int32)
    fee_bps = jnp.asarray(rng.integers(0, 30, (n, k)))
    ledger = new_ledger(jnp.zeros(n, I64), jnp.zeros((n, a), I64))
    owner = jnp.repeat(jnp.arange(n, dtype=jnp.int32), k)
    via_scatter = settle(ledger, owner, asset.reshape(-1), side.reshape(-1), qty.reshape(-1),
                         price.reshape(-1), jnp.asarray(3, I64), fee_bps.reshape(-1))
    via_rows = apply_deltas(ledger, *account_deltas(side, qty, price, asset, a,
                                                    jnp.asarray(3, I64), fee_bps))
    for x, y in zip(jax.tree.leaves(via_scatter), jax.tree.leaves(via_rows), strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))

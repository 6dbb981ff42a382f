"""``MarketConfig.record_fills``: the CDA step's fills, in execution order, account for
every lot, every position change and every fee of the step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.market import MarketConfig, default_params, run
from quantmarl.market.state import (
    FILL_RECORD_WIDTH,
    FILLS_MAKER,
    FILLS_MAKER_FEE,
    FILLS_QTY,
    FILLS_SIDE,
    FILLS_TAKER,
    FILLS_TAKER_FEE,
)


def test_fills_account_for_volume_positions_and_fees():
    config = MarketConfig(clearing="cda", record_fills=True, episode_length=30,
                          background_orders=16, book_capacity=64,
                          reactive=(("market_maker", 2), ("fundamental", 6), ("noise", 6)))
    params = default_params(config).replace(fee_bps=jnp.asarray(5, jnp.int64),
                                            maker_fee_bps=jnp.asarray(2, jnp.int64))
    _, rec = jax.jit(run, static_argnums=(1, 3))(jax.random.key(0), config, params, 30)
    fills = np.asarray(rec.fills)  # [T, A, F, 9]
    assert fills.dtype == np.int64 and fills.shape[-1] == FILL_RECORD_WIDTH
    qty = fills[..., FILLS_QTY]
    np.testing.assert_array_equal(qty.sum(-1), np.asarray(rec.volume))
    moved = np.zeros((30, config.n_accounts, 1), np.int64)
    for t, a, f in zip(*np.nonzero(qty > 0), strict=True):
        row = fills[t, a, f]
        moved[t, row[FILLS_TAKER], a] += row[FILLS_SIDE] * row[FILLS_QTY]
        moved[t, row[FILLS_MAKER], a] -= row[FILLS_SIDE] * row[FILLS_QTY]
    np.testing.assert_array_equal(moved, np.asarray(rec.agent_qty))
    fees = (fills[..., FILLS_TAKER_FEE] + fills[..., FILLS_MAKER_FEE]).sum(axis=(1, 2))
    np.testing.assert_array_equal(fees, np.asarray(rec.fees))
    assert qty.sum() > 0 and fees.sum() > 0


def test_fills_are_not_recorded_unless_asked():
    config = MarketConfig(clearing="cda", episode_length=2, background_orders=4,
                          book_capacity=16, reactive=(("noise", 2),))
    _, rec = run(jax.random.key(0), config, default_params(config), 2)
    assert rec.fills is None

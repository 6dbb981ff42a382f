"""Background order flow: valid int64 orders, pressure, heavy tails, self-excitation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.agents.background import (
    default_background,
    reference_price,
    sample_orders,
    update_intensity,
)


def _draw(seed=0, **kw):
    p = default_background()
    return sample_orders(jax.random.key(seed), jnp.array([10_000, 500], jnp.int64),
                         jnp.array([200.0, 200.0]), p, 512, **kw)


def test_orders_are_valid_and_int64():
    o = _draw()
    side, price, qty = (np.asarray(x) for x in (o.side, o.price, o.qty))
    assert o.price.dtype == jnp.int64 and o.qty.dtype == jnp.int64
    assert set(np.unique(side)) <= {-1, 0, 1}
    assert np.all((qty > 0) == (side != 0)) and np.all(price >= 0)
    assert 150 < (qty[0] > 0).sum() < 250  # Poisson(200)
    assert 0.05 < (price[0][qty[0] > 0] == 0).mean() < 0.2  # ~10% market orders
    assert np.all(qty <= 1000)


def test_sell_pressure_tilts_sides():
    o = _draw(sell_pressure=jnp.array([0.05, 0.0]))
    side = np.asarray(o.side)
    assert (side[0] == -1).sum() > 2 * (side[0] == 1).sum()  # expected 3x (p_buy = 0.25)
    assert abs((side[1] == 1).sum() - (side[1] == -1).sum()) < 60


def test_sizes_are_heavy_tailed():
    qty = np.concatenate([np.asarray(_draw(s).qty).ravel() for s in range(20)])
    qty = qty[qty > 0]
    assert qty.max() >= 50 and np.median(qty) <= 2


def test_intensity_excites_and_decays():
    p = default_background()
    lam = update_intensity(jnp.array([200.0]), p, jnp.array([0.03]), jnp.array([0.01]))
    assert float(lam[0]) == 200.0 + 50.0 * 3.0
    calm = update_intensity(lam, p, jnp.array([0.0]), jnp.array([0.01]))
    assert abs(float(calm[0]) - (200.0 + 0.9 * 150.0)) < 1e-9


def test_reference_price_leans_toward_value_and_drifts_with_volatility():
    p = default_background().replace(drift_sigma=jnp.asarray(0.0))
    last = jnp.array([10_000, 500], jnp.int64)
    log_f = jnp.log(jnp.array([11_000.0, 500.0]))
    ones = jnp.ones(2, jnp.float32)
    ref = reference_price(jax.random.key(0), last, log_f, ones, p)
    assert ref.dtype == jnp.int64
    # no drift: the reference closes value_pull (10%) of the log gap to the fundamental
    want = np.round(np.exp(np.log(10_000.0) + 0.1 * np.log(1.1)))
    assert np.asarray(ref).tolist() == [int(want), 500]
    p = p.replace(drift_sigma=jnp.asarray(0.01), value_pull=jnp.asarray(0.0))
    calm, wild = (np.asarray(reference_price(jax.random.key(k), last, log_f, m * ones, p))
                  for k, m in ((1, 1.0), (1, 10.0)))
    assert (calm != np.asarray(last)).any()
    assert (np.abs(wild - np.asarray(last)) > np.abs(calm - np.asarray(last))).all()
    assert (reference_price(jax.random.key(2), jnp.array([1], jnp.int64), jnp.zeros(1),
                            jnp.ones(1, jnp.float32), p.replace(drift_sigma=jnp.asarray(5.0)))
            >= 1).all()

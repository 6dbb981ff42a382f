"""Background order flow: valid int64 orders, pressure, heavy tails, self-excitation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.agents.background import (
    PRICE_SCALE_CAP,
    activity,
    default_background,
    price_scale,
    reference_price,
    sample_orders,
    sentiment_side,
    update_intensity,
    validate_background,
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


def test_intensity_excites_decays_and_caps():
    p = default_background().replace(excitation=jnp.asarray(0.4), decay=jnp.asarray(0.95))
    # base 8, excitation 0.4, decay 0.95, cap 4x
    lam = update_intensity(jnp.array([8.0]), p, jnp.array([0.03]), jnp.array([0.01]))
    assert float(lam[0]) == pytest.approx(8.0 + 0.4 * 3.0)
    calm = update_intensity(lam, p, jnp.array([0.0]), jnp.array([0.01]))
    assert float(calm[0]) == pytest.approx(8.0 + 0.95 * 1.2)
    wild = update_intensity(lam, p, jnp.array([10.0]), jnp.array([0.01]))
    assert float(wild[0]) == pytest.approx(32.0)  # base * max_activity
    assert np.asarray(activity(jnp.array([4.0, 8.0, 100.0]), p)).tolist() == [0.5, 1.0, 4.0]


def test_order_count_follows_intensity_and_a_liquidity_shock_thins_it():
    """The map: Binomial(max_orders, intensity / max_orders) orders, saturating at the cap."""
    p = default_background()
    last = jnp.full((400,), 10_000, jnp.int64)

    def count(intensity):
        o = sample_orders(jax.random.key(1), last, jnp.full((400,), intensity), p, 32)
        return float(np.mean((np.asarray(o.qty) > 0).sum(axis=1)))

    assert count(8.0) == pytest.approx(8.0, abs=0.3)
    assert count(8.0 / 3.0) == pytest.approx(8.0 / 3.0, abs=0.2)  # liquidity_mult 3 thins it
    assert count(16.0) == pytest.approx(16.0, abs=0.4)
    assert count(500.0) == 32.0  # saturated


def test_activity_makes_the_flow_aggressive_and_dispersed():
    p = default_background().replace(market_frac=jnp.asarray(0.1),
                                     aggression_elasticity=jnp.asarray(1.0),
                                     dispersion_elasticity=jnp.asarray(0.5))
    last = jnp.full((200,), 10_000, jnp.int64)
    lam = jnp.full((200,), 32.0)

    def draw(act):
        o = sample_orders(jax.random.key(2), last, lam, p, 32, act=act)
        live = np.asarray(o.qty) > 0
        price = np.asarray(o.price)
        limits = live & (price > 0)
        return (price[live] == 0).mean(), np.abs(price[limits] - 10_000).mean()

    (m1, d1), (m4, d4) = draw(1.0), draw(4.0)
    assert 0.08 < m1 < 0.12 and 0.35 < m4 < 0.45  # market share 0.1 * act ** 1
    assert 1.6 < d4 / d1 < 2.4  # offsets scale like act ** 0.5


def test_busy_flow_herds_on_the_sentiment_side_and_trades_larger():
    """herding * (act - 1) of the orders take the step's sentiment side; sizes x act ** e."""
    p = default_background().replace(herding=jnp.asarray(0.25), size_elasticity=jnp.asarray(1.0))
    last = jnp.full((400,), 10_000, jnp.int64)
    lam = jnp.full((400,), 32.0)
    herd_side = jnp.where(jnp.arange(400) % 2 == 0, 1, -1).astype(jnp.int64)

    def draw(act):
        o = sample_orders(jax.random.key(3), last, lam, p, 32, act=act, herd_side=herd_side)
        side, qty = np.asarray(o.side), np.asarray(o.qty)
        follow = (side == np.asarray(herd_side)[:, None])[qty > 0].mean()
        return follow, np.median(qty[qty > 0])

    (f1, q1), (f3, q3) = draw(1.0), draw(3.0)
    assert abs(f1 - 0.5) < 0.02  # calm: independent sides
    assert abs(f3 - (0.5 + 0.5 * 0.5)) < 0.02  # half herd, the rest split evenly
    assert (q1, q3) == (1.0, 4.0)  # median floor(1 * 2 ** (1 / 1.8)) -> floor(3 * 1.47)
    side = np.asarray(sentiment_side(jax.random.key(4), 1000))
    assert set(np.unique(side)) == {-1, 1} and abs(side.mean()) < 0.1


def test_price_scale_follows_volatility_ratio_and_is_capped():
    p = default_background().replace(quote_vol_elasticity=jnp.asarray(0.5),
                                     quote_floor=jnp.asarray(0.25))
    vol = jnp.array([0.004, 0.001, 0.00025, 1.0], jnp.float32)
    s = np.asarray(price_scale(vol, jnp.full((4,), 0.001, jnp.float32), p))
    np.testing.assert_allclose(s[:3], [2.0, 1.0, 0.5], rtol=1e-5)
    assert s[3] == pytest.approx(PRICE_SCALE_CAP**0.5)
    floored = np.asarray(price_scale(vol, jnp.full((4,), 0.001), p.replace(
        quote_floor=jnp.asarray(0.75))))
    assert floored[2] == pytest.approx(0.75)  # calm quotes stop narrowing at the floor
    off = default_background().replace(quote_vol_elasticity=jnp.asarray(0.0))  # plain ticks
    assert np.all(np.asarray(price_scale(vol, jnp.full((4,), 0.001), off)) == 1.0)


def test_background_validation_names_the_field():
    validate_background(default_background())
    with pytest.raises(ValueError, match=r"background.max_activity"):
        validate_background(default_background().replace(max_activity=jnp.asarray(0.5)))
    with pytest.raises(ValueError, match=r"background.vol_memory"):
        validate_background(default_background().replace(vol_memory=jnp.asarray(1.0)))
    with pytest.raises(ValueError, match=r"background.herding"):
        validate_background(default_background().replace(herding=jnp.asarray(-0.1)))
    with pytest.raises(ValueError, match=r"background.quote_vol_elasticity"):
        validate_background(default_background().replace(quote_vol_elasticity=jnp.asarray(3.0)))


def test_reference_price_leans_toward_value_and_drifts_with_volatility():
    p = default_background().replace(drift_sigma=jnp.asarray(0.0), value_pull=jnp.asarray(0.1))
    last = jnp.array([10_000, 500], jnp.int64)
    log_f = jnp.log(jnp.array([11_000.0, 500.0]))
    ones = jnp.ones(2, jnp.float32)
    ref = reference_price(jax.random.key(0), last, log_f, ones, p)
    assert ref.dtype == jnp.int64
    # no drift: the reference closes value_pull (here 10%) of the log gap to the fundamental
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

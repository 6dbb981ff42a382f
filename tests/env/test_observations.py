"""Observation features: values on hand-built contexts, named specs and the registry."""

import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env.observations import (
    FEATURES,
    SPECS,
    ObsContext,
    obs_size,
    observe,
    register_feature,
    resolve_spec,
)


def _ctx(history, last, n_assets=1, initial=None):
    history = jnp.asarray(history, jnp.int64).reshape(len(history), n_assets)
    last = jnp.asarray(last, jnp.int64).reshape(n_assets)
    initial = last if initial is None else jnp.asarray(initial, jnp.int64).reshape(n_assets)
    a = n_assets
    return ObsContext(
        last_price=last, initial_price=initial, fundamental=last, history=history,
        volatility=jnp.zeros((a,), jnp.float32), spread=jnp.full((a,), -1, jnp.int64),
        imbalance=jnp.zeros((a,), jnp.float32), depth=jnp.zeros((a, 2), jnp.int64),
        asset=jnp.array([0], jnp.int32), position=jnp.zeros((1, a), jnp.int64),
        cash=jnp.array([1000], jnp.int64), initial_cash=jnp.asarray(1000, jnp.int64),
        max_position=jnp.asarray(200, jnp.int64), time_left=jnp.asarray(1.0, jnp.float32),
    )


def test_observation_features_on_a_hand_built_context():
    ctx = ObsContext(
        last_price=jnp.array([110], jnp.int64), initial_price=jnp.array([100], jnp.int64),
        fundamental=jnp.array([121], jnp.int64),
        history=jnp.array([[100], [100], [100], [100], [100], [110]], jnp.int64),
        volatility=jnp.array([0.02], jnp.float32), spread=jnp.array([2], jnp.int64),
        imbalance=jnp.array([0.25], jnp.float32), depth=jnp.array([[300, 100]], jnp.int64),
        asset=jnp.array([0], jnp.int32), position=jnp.array([[50]], jnp.int64),
        cash=jnp.array([900], jnp.int64), initial_cash=jnp.asarray(1000, jnp.int64),
        max_position=jnp.asarray(200, jnp.int64), time_left=jnp.asarray(0.5, jnp.float32),
    )
    v = np.asarray(observe(ctx, resolve_spec("default")))[0]
    assert v.shape == (13,)
    expected = [0.1, 0.1, 2.0, 2 / 110 * 1e4, 0.25, 0.0, 0.0, 0.0, 100 * np.log(1.1), 0.0,
                0.25, -0.1, 0.5]
    np.testing.assert_allclose(v, expected, rtol=1e-5, atol=1e-6)
    assert obs_size(resolve_spec("extended_depth")) == 17
    depth = np.asarray(observe(ctx, ("depth",)))[0]
    np.testing.assert_allclose(depth, [0.3, 0.1], rtol=1e-6)  # float32


def test_gain_ratio_is_the_upward_share_of_plain_summed_returns():
    prices = np.array([100, 110, 99, 99, 105, 100], np.float64)
    r = np.diff(np.log(prices))
    gain, loss = r[r > 0].sum(), -r[r < 0].sum()
    got = float(np.asarray(observe(_ctx(prices[:-1], prices[-1]), ("gain_ratio",)))[0, 0])
    assert np.isclose(got, gain / (gain + loss) - 0.5, rtol=1e-5)
    flat = float(np.asarray(observe(_ctx([100] * 5, 100), ("gain_ratio",)))[0, 0])
    assert flat == 0.0  # no movement: neither up nor down
    assert SPECS["extended"][-2:] == ("gain_ratio", "momentum")
    with pytest.raises(ValueError, match="unknown observation features \\['rsi'\\]"):
        resolve_spec(("rsi",))  # the old, misleading name is gone


def test_momentum_and_basis_by_hand():
    prices = np.array([100, 104, 102, 108], np.float64)
    got = float(np.asarray(observe(_ctx(prices[:-1], prices[-1]), ("momentum",)))[0, 0])
    assert np.isclose(got, 100 * np.log(108 / 100), rtol=1e-5)  # fewer than 10 returns: all
    ctx = _ctx([[100, 100]], [110, 90], n_assets=2, initial=[100, 100])
    rel = np.log([1.1, 0.9])
    basis = float(np.asarray(observe(ctx, ("basis",)))[0, 0])
    assert np.isclose(basis, 100 * (rel[0] - rel.mean()), rtol=1e-5)


def test_feature_registry():
    register_feature("const_one_test", lambda ctx: jnp.ones((ctx.asset.shape[0], 2)), 2)
    assert FEATURES["const_one_test"][1] == 2
    with pytest.raises(ValueError, match="new non-empty"):
        register_feature("price", lambda ctx: ctx, 1)
    with pytest.raises(ValueError, match="unknown observation features"):
        resolve_spec(("price", "nope"))

"""Reward plug-ins: values by hand and the registry."""

import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env.rewards import (
    REWARDS,
    RewardContext,
    default_reward_params,
    get_reward,
    register_reward,
)


def test_reward_values_by_hand():
    p = default_reward_params()
    ctx = RewardContext(wealth=jnp.array([1.02]), prev_wealth=jnp.array([1.0]),
                        inventory=jnp.array([0.5]), carry=jnp.array([[0.0, 0.0001]]))
    assert np.isclose(float(get_reward("pnl")(ctx, p)[0][0]), 0.02)
    assert np.isclose(float(get_reward("pnl_inventory")(ctx, p)[0][0]), 0.02 - 1e-3 * 0.25)
    d, carry = get_reward("sharpe")(ctx, p)
    r, a, b = 0.02, 0.0, 0.0001
    expected = (b * (r - a) - 0.5 * a * (r * r - b)) / (b - a * a) ** 1.5
    assert np.isclose(float(d[0]), min(expected, 10.0), rtol=1e-5)
    assert np.allclose(np.asarray(carry[0]), [0.01 * r, b + 0.01 * (r * r - b)])


def test_reward_registry():
    register_reward("double_pnl_test", lambda c, p: (2 * (c.wealth - c.prev_wealth), c.carry))
    assert "double_pnl_test" in REWARDS
    with pytest.raises(ValueError, match="unknown reward"):
        get_reward("nope")

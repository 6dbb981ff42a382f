"""Fundamental process: determinism, mean reversion, correlation, jumps, int64 ticks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.market.config import FundamentalParams
from quantmarl.market.fundamental import fundamental_ticks, step_fundamental


def _params(kappa=0.0, sigma=0.01, jump_prob=0.0, rho=0.0):
    return FundamentalParams(
        kappa=jnp.asarray(kappa), sigma=jnp.asarray(sigma), jump_prob=jnp.asarray(jump_prob),
        jump_scale=jnp.asarray(0.05), correlation=jnp.array([[1.0, rho], [rho, 1.0]]),
    )


LOG_10K = float(np.log(10_000.0))


def _path(params, steps=3000, seed=0, start=LOG_10K):
    anchor = jnp.full((2,), LOG_10K)

    def body(lv, key):
        nxt = step_fundamental(key, lv, anchor, params)
        return nxt, nxt

    keys = jax.random.split(jax.random.key(seed), steps)
    return np.asarray(jax.lax.scan(body, jnp.full((2,), start), keys)[1])


def test_same_key_same_path_and_ticks_are_int64():
    p = _params()
    assert np.array_equal(_path(p, 50), _path(p, 50))
    ticks = fundamental_ticks(jnp.asarray(_path(p, 50)[-1]))
    assert ticks.dtype == jnp.int64 and int(ticks.min()) >= 1


def test_correlation_of_shocks():
    incr = np.diff(_path(_params(rho=0.8)), axis=0)
    assert abs(np.corrcoef(incr.T)[0, 1] - 0.8) < 0.05
    assert abs(incr.std() - 0.01) < 0.001


def test_mean_reversion_pulls_back_to_anchor():
    path = _path(_params(kappa=0.1, sigma=0.0), 100, start=np.log(12_000.0))
    assert abs(np.exp(path[-1, 0]) - 10_000) < 1.0


def test_news_jump_and_volatility_multiplier():
    lv = jnp.full((2,), np.log(10_000.0))
    p = _params(sigma=0.0)
    out = step_fundamental(jax.random.key(0), lv, lv, p, news_jump=jnp.array([0.05, -0.1]))
    assert np.allclose(np.exp(np.asarray(out)), [10_500.0, 9_000.0])
    calm = step_fundamental(jax.random.key(1), lv, lv, _params(), vol_mult=1.0) - lv
    spike = step_fundamental(jax.random.key(1), lv, lv, _params(), vol_mult=3.0) - lv
    assert np.allclose(np.asarray(spike), 3 * np.asarray(calm))

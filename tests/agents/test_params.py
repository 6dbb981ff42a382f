"""Per-agent parameters: ranges, dtypes, defaults by behaviour, validation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents.params import INDEX_PAIR, BehaviourDistribution, draw_params
from quantmarl.agents.registry import sample_params

KEY = jax.random.key(0)



def test_sample_params_ranges():
    dist = BehaviourDistribution(size_lo=2, size_hi=4, threshold_lo=0.1, threshold_hi=0.2,
                                 lookback_lo=3, lookback_hi=30, spread_lo=0, spread_hi=2,
                                 skew_lo=-0.5, skew_hi=0.5, noise_lo=0.01, noise_hi=0.02,
                                 aggression_lo=0.2, aggression_hi=0.4, max_inventory_lo=7,
                                 max_inventory_hi=9)
    n = 2000
    p = sample_params(jax.random.key(0), n, "momentum", dist, n_assets=4, history_len=10)
    dtypes = dict(asset=jnp.int32, size=jnp.int64, threshold=jnp.float32, lookback=jnp.int32,
                  spread_ticks=jnp.int64, skew=jnp.float32, noise=jnp.float32,
                  aggression=jnp.float32, max_inventory=jnp.int64, pair_asset=jnp.int32)
    for name, dtype in dtypes.items():
        x = getattr(p, name)
        assert x.shape == (n,) and x.dtype == dtype, name
    g = {k: np.asarray(getattr(p, k)) for k in dtypes}
    assert set(g["size"].tolist()) == {2, 3, 4}
    assert set(g["spread_ticks"].tolist()) == {0, 1, 2}
    assert set(g["max_inventory"].tolist()) == {7, 8, 9}
    assert g["lookback"].min() == 3 and g["lookback"].max() == 10  # clipped to history_len
    for name, lo, hi in (("threshold", 0.1, 0.2), ("skew", -0.5, 0.5), ("noise", 0.01, 0.02),
                         ("aggression", 0.2, 0.4)):
        assert g[name].min() >= np.float32(lo) and g[name].max() <= np.float32(hi), name
    assert set(g["asset"].tolist()) == {0, 1, 2, 3}
    assert (g["pair_asset"] != g["asset"]).all()
    assert ((g["pair_asset"] >= 0) & (g["pair_asset"] < 4)).all()


def test_sample_params_single_asset_index_and_defaults():
    p = sample_params(jax.random.key(0), 10, "arbitrage")
    assert (np.asarray(p.pair_asset) == np.asarray(p.asset)).all()
    p = sample_params(jax.random.key(0), 10, "arbitrage",
                      BehaviourDistribution(index_fraction=1.0), n_assets=3)
    assert (np.asarray(p.pair_asset) == INDEX_PAIR).all()
    mr = sample_params(jax.random.key(0), 100, "mean_reversion")
    assert np.asarray(mr.threshold).min() >= 1.0  # z-score defaults
    user = sample_params(jax.random.key(0), 3, "my_user_kind")
    assert user.n_agents == 3


@pytest.mark.parametrize("bad, match", [
    (dict(size_lo=5, size_hi=2), "size_lo"),
    (dict(size_lo=0), "size_lo"),
    (dict(aggression_hi=1.5), "aggression_hi"),
    (dict(noise_lo=-0.1), "noise_lo"),
    (dict(index_fraction=2.0), "index_fraction"),
])
def test_sample_params_rejects_bad_ranges(bad, match):
    with pytest.raises(ValueError, match=match):
        sample_params(KEY, 4, "noise", BehaviourDistribution(**bad))


def test_sample_params_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n must"):
        sample_params(KEY, -1, "noise")
    with pytest.raises(ValueError, match="n_assets"):
        sample_params(KEY, 4, "noise", n_assets=0)


def test_growing_a_block_keeps_the_existing_agents_parameters():
    key = jax.random.key(7)
    dist = BehaviourDistribution(index_fraction=0.3)
    small = draw_params(key, 5, dist, 3, history_len=16)
    big = draw_params(key, 12, dist, 3, history_len=16)
    for name in small.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(big, name)[:5], getattr(small, name), err_msg=name)
    assert not np.array_equal(np.asarray(big.size[5:10]), np.asarray(small.size))  # new draws

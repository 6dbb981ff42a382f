"""experiments.series: shapes, burn-in and batched params against one call per params set."""

import jax
import jax.numpy as jnp
import numpy as np

from experiments.series import simulate
from quantmarl.market import MarketConfig, default_params, run

CONFIG = MarketConfig(reactive=(("noise", 8), ("market_maker", 2)), background_orders=8,
                      episode_length=5)


def test_series_match_run_and_batched_params_match_one_call_each():
    params = default_params(CONFIG)
    keys = jax.random.split(jax.random.key(0), 2)
    one = simulate(CONFIG, params, keys, 6, burn_in=2)
    assert one.close.shape == (2, 6, 1) and one.volume.dtype == jnp.int64
    _, rec = run(keys[1], CONFIG, params, 8)
    np.testing.assert_array_equal(one.close[1], rec.close[2:])
    assert one.log_returns().shape == (2, 5, 1)

    bg = params.background
    thin = params.replace(background=bg.replace(base_intensity=bg.base_intensity / 4))
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), params, thin)
    both = simulate(CONFIG, batch, keys, 6, burn_in=2, batched_params=True)
    assert both.close.shape == (2, 2, 6, 1)
    np.testing.assert_array_equal(both.volume[0], one.volume)
    second = jax.tree.map(lambda x: x[1], batch)
    np.testing.assert_array_equal(both.volume[1], simulate(CONFIG, second, keys, 6,
                                                           burn_in=2).volume)

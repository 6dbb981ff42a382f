"""Observation normalisation: running moments against NumPy, standardising, the wrapper."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from quantmarl.rl import normalize


def test_running_moments_match_numpy_over_all_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (4, 5, 3)).astype(np.float32),
               rng.normal(-1.0, 0.5, (7, 3)).astype(np.float32),
               rng.normal(0.0, 10.0, (2, 2, 2, 3)).astype(np.float32)]
    stats = normalize.init_stats(3)
    for b in batches:
        stats = normalize.update(stats, jnp.asarray(b))
    every = np.concatenate([b.reshape(-1, 3) for b in batches]).astype(np.float64)
    # the prior (mean 0, variance 1, weight 1e-4) is negligible
    np.testing.assert_allclose(np.asarray(stats.mean), every.mean(axis=0), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(np.asarray(stats.var), every.var(axis=0), rtol=1e-4)
    assert float(stats.count) == np.float32(1e-4 + every.shape[0])


def test_standardise_and_clip():
    stats = normalize.RunningStats(mean=jnp.array([1.0, -2.0]), var=jnp.array([4.0, 1e-12]),
                                   count=jnp.asarray(10.0))
    z = normalize.normalize(stats, jnp.array([[3.0, -2.0], [1.0, 5.0]]))
    np.testing.assert_allclose(np.asarray(z), [[1.0, 0.0], [0.0, 10.0]], rtol=1e-6)  # clipped


def test_wrapper_standardises_only_when_stats_are_present():
    seen = []

    def step(params, carry, x):
        seen.append((sorted(params), np.asarray(x)))
        return carry, x, x

    wrapped = normalize.normalizing(step)
    stats = normalize.RunningStats(mean=jnp.array([2.0]), var=jnp.array([4.0]),
                                   count=jnp.asarray(1.0))
    wrapped({"params": 1, normalize.KEY: stats}, None, jnp.array([6.0]))
    wrapped({"params": 1}, None, jnp.array([6.0]))
    assert seen[0][0] == ["params"] and seen[0][1].tolist() == [2.0]  # (6 - 2) / 2
    assert seen[1][1].tolist() == [6.0]
    trainable, got = normalize.split({"params": 1, normalize.KEY: stats})
    assert trainable == {"params": 1} and got is stats
    assert normalize.join(trainable, None) == {"params": 1}


def test_trainer_keeps_statistics_only_when_asked():
    import jax

    from quantmarl.rl import TrainConfig, make_trainer
    from quantmarl.rl.config import train_market

    market = train_market(episode_length=8, background_orders=4, reactive=(("noise", 4),))
    for flag in (True, False):
        config = TrainConfig(n_envs=2, n_steps=4, iterations=1, hidden=(4,), market=market,
                             normalize_obs=flag, agent_types=("momentum_trader",))
        params = make_trainer(config)._init_params(jax.random.key(0))["momentum_trader"]
        assert (normalize.KEY in params) == flag

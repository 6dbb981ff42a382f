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


def _discounted_returns(reward, done, gamma, ret0):
    """Pure-Python reference: ``ret = gamma * ret + r`` per env, restarted after done."""
    ret, out = ret0.astype(np.float64).copy(), []
    for r, d in zip(reward, done, strict=True):
        ret = gamma * ret + r
        out.append(ret.copy())
        ret = np.where(d, 0.0, ret)
    return np.stack(out), ret


def test_reward_scaling_divides_by_the_running_return_std():
    rng = np.random.default_rng(1)
    scaler = normalize.init_scaler(3, 2)
    ret, seen = np.zeros((3, 2)), []
    for _ in range(3):  # three rollouts: the return and its moments carry across them
        reward = rng.normal(0.5, 2.0, (5, 3, 2)).astype(np.float32)
        done = rng.random((5, 3, 2)) < 0.3
        scaler, scaled = normalize.scale_rewards(scaler, jnp.asarray(reward),
                                                 jnp.asarray(done), 0.9)
        returns, ret = _discounted_returns(reward, done, 0.9, ret)
        seen.append(returns.reshape(-1))
        every = np.concatenate(seen)
        np.testing.assert_allclose(np.asarray(scaler.ret), ret, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(float(scaler.stats.var[0]), every.var(), rtol=1e-4)
        np.testing.assert_allclose(np.asarray(scaled), reward / np.sqrt(every.var()),
                                   rtol=1e-4)


def test_reward_scaling_state_lives_in_the_runner_and_changes_training(tmp_path):
    import jax

    from quantmarl.rl import TrainConfig, checkpoint, make_trainer
    from quantmarl.rl.config import train_market

    market = train_market(episode_length=8, background_orders=4, reactive=(("noise", 4),))
    losses = {}
    for flag in (True, False):
        config = TrainConfig(n_envs=2, n_steps=4, iterations=2, update_epochs=1,
                             n_minibatches=1, hidden=(4,), market=market,
                             normalize_reward=flag, agent_types=("momentum_trader",))
        out = jax.jit(make_trainer(config).train)(jax.random.key(0))
        assert (out.runner.reward_norm != {}) == flag
        if flag:  # two rollouts of 2 envs x 4 steps seen
            assert float(out.runner.reward_norm["momentum_trader"].stats.count) > 15.9
            # the scaler is saved and restored with the runner state
            checkpoint.save(tmp_path, config, jax.tree.map(lambda x: x[None], out.runner))
            _, _, restored = checkpoint.restore(tmp_path)
            saved = restored.reward_norm["momentum_trader"]
            np.testing.assert_array_equal(np.asarray(saved.ret[0]),
                                          np.asarray(out.runner.reward_norm[
                                              "momentum_trader"].ret))
        losses[flag] = np.asarray(out.metrics["momentum_trader"]["value_loss"])
    # the critic's targets are rescaled: the losses differ from the second update on
    assert losses[True][0] != losses[False][0]

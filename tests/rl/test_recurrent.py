"""Recurrent (GRU) policies: the network, memory across steps and episode starts, exact
replay of rollout sequences in the PPO update, training, checkpoints and opponents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.rl import TrainConfig, checkpoint, distributions, make_trainer
from quantmarl.rl.config import train_market
from quantmarl.rl.networks import RecurrentActorCritic, carry_size, policy_step
from quantmarl.rl.ppo import gae

GRU = dict(n_envs=4, n_steps=8, iterations=2, update_epochs=2, n_minibatches=2,
           hidden=(16,), network="gru", gru_size=8,
           market=train_market(episode_length=5, background_orders=8,
                               reactive=(("market_maker", 2), ("fundamental", 4), ("noise", 4))))


def test_recurrent_network_shapes_memory_and_validation():
    net = RecurrentActorCritic((3, 2), hidden=(16,), gru_size=8)
    assert carry_size(net) == 8
    obs = jax.random.normal(jax.random.key(0), (4, 6))
    params = net.init(jax.random.key(1), net.initial_carry((4,)), obs)
    step = policy_step(net)
    carry, logits, value = step(params, net.initial_carry((4,)), obs)
    assert carry.shape == (4, 8) and logits.shape == (4, 5) and value.shape == (4,)
    assert logits.dtype == value.dtype == carry.dtype == jnp.float32
    # memory matters: the same observation after a different history gives other logits
    _, logits2, _ = step(params, carry, obs)
    assert not np.allclose(np.asarray(logits), np.asarray(logits2))
    # the actor alone (frozen opponents) gives the same memory and logits, zero values
    c_a, l_a, v_a = policy_step(net, actor_only=True)(params, net.initial_carry((4,)), obs)
    np.testing.assert_array_equal(np.asarray(c_a), np.asarray(carry))
    np.testing.assert_array_equal(np.asarray(l_a), np.asarray(logits))
    assert not np.asarray(v_a).any()
    with pytest.raises(ValueError, match="gru_size"):
        RecurrentActorCritic((3,), gru_size=0)
    with pytest.raises(ValueError, match="network"):
        TrainConfig(network="lstm")
    with pytest.raises(ValueError, match="must divide n_envs"):
        TrainConfig(**{**GRU, "n_envs": 6, "n_steps": 4, "n_minibatches": 4})


@pytest.mark.parametrize("share_params", [True, False])
def test_update_replays_rollout_sequences_exactly(share_params):
    """The PPO update replays each sequence through the GRU from the rollout's first
    memory, clearing it where episodes start: before any gradient step, its log
    probabilities and values are the rollout's own (ratio 1)."""
    config = TrainConfig(**{**GRU, "share_params": share_params, "agents_per_type": 2})
    trainer = make_trainer(config)
    g = trainer.learners[0]

    @jax.jit
    def check(key):
        runner = trainer.init(key)
        rollout = lambda k, r: trainer._rollout(  # noqa: E731
            k, r.env_state, r.obs, r.carry, r.params, trainer.env_params)
        env_state, obs, carry, _ = rollout(jax.random.key(1), runner)
        runner = runner.replace(env_state=env_state, obs=obs, carry=carry)  # a memory to start
        traj = rollout(key, runner)[3]
        t = traj[g]
        adv, ret = gae(t.reward, t.value, t.done, jnp.zeros_like(t.value[0]), 0.99, 0.95)
        batch = trainer._batch({"obs": t.obs, "actions": t.action, "old_log_probs": t.log_prob,
                                "old_values": t.value, "advantages": adv, "returns": ret},
                               t.first, runner.carry[g])
        logits, values = trainer._loss_apply(g)(runner.params[g], batch["obs"])
        logp = distributions.log_prob(logits, batch["actions"], trainer.nvecs[g])
        return logp, batch["old_log_probs"], values, batch["old_values"], t.first, \
            runner.carry[g]

    logp, old_logp, values, old_values, first, carry0 = check(jax.random.key(0))
    assert np.asarray(first).any() and not np.asarray(first).all()  # episodes end inside
    assert np.abs(np.asarray(carry0)).max() > 0  # the rollout starts with a memory
    np.testing.assert_allclose(np.asarray(logp), np.asarray(old_logp), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(values), np.asarray(old_values), rtol=1e-5,
                               atol=1e-5)


def test_gru_trains_and_loads_as_a_frozen_opponent(tmp_path):
    config = TrainConfig(**{**GRU, "seeds": 1})
    trainer = make_trainer(config)
    out = jax.jit(jax.vmap(trainer.train))(jax.random.split(jax.random.key(0), 1))
    m = out.metrics["momentum_trader"]
    for name in ("policy_loss", "value_loss", "entropy", "approx_kl"):
        assert np.isfinite(np.asarray(m[name])).all(), name
    assert out.runner.carry["momentum_trader"].shape == (1, 4, 1, 8)
    checkpoint.save(tmp_path / "gru", config, out.runner)
    assert checkpoint.load_meta(tmp_path / "gru")["network"] == "gru"
    # a feedforward learner against the frozen recurrent policy, MAPPO
    cfg = TrainConfig(**{**GRU, "network": "mlp", "agent_types": ("market_maker",),
                         "algorithm": "mappo", "iterations": 1,
                         "opponents": (str(tmp_path / "gru"),)})
    vs = make_trainer(cfg, opponents=checkpoint.load_opponents(cfg.opponents))
    opp = vs.opponents[0]
    assert isinstance(opp.network, RecurrentActorCritic) and vs.carry_sizes == {
        "market_maker": 0, "opp0_momentum_trader": 8}
    result = jax.jit(vs.train)(jax.random.key(1))
    assert np.isfinite(np.asarray(result.metrics["market_maker"]["value_loss"])).all()
    # the opponent's memory moved during the rollouts
    assert np.abs(np.asarray(result.runner.carry["opp0_momentum_trader"])).max() > 0

"""quantmarl.rl.policy: the learners' network, per-learner steps and action choice."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.rl import TrainConfig, distributions
from quantmarl.rl.networks import ActorCritic, RecurrentActorCritic, carry_size, policy_step
from quantmarl.rl.policy import act, build_network, per_learner

NVEC = (3, 5)


def test_act_greedy_takes_each_components_mode_and_sampling_uses_the_key():
    logits = jnp.asarray([[0.0, 2.0, 1.0, 5.0, 0.0, 0.0, 0.0, -1.0],
                          [9.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0]])
    greedy = act(jax.random.key(0), logits, NVEC, greedy=True)
    np.testing.assert_array_equal(np.asarray(greedy), [[1, 0], [0, 4]])
    key = jax.random.key(1)
    sampled = act(key, logits, NVEC, greedy=False)
    np.testing.assert_array_equal(np.asarray(sampled),
                                  np.asarray(distributions.sample(key, logits, NVEC)))
    assert sampled.shape == (2, 2)


def test_build_network_follows_the_config():
    mlp = build_network(TrainConfig(hidden=(8,)), NVEC, None)
    gru = build_network(TrainConfig(hidden=(8,), network="gru", gru_size=4), NVEC, 6)
    assert type(mlp) is ActorCritic and carry_size(mlp) == 0
    assert type(gru) is RecurrentActorCritic and carry_size(gru) == 4
    assert gru.actor_inputs == 6


def test_per_learner_maps_params_over_the_group_axis():
    net = build_network(TrainConfig(hidden=(8,)), NVEC, None)
    count, obs_dim = 3, 5
    keys = jax.random.split(jax.random.key(0), count)
    params = jax.vmap(net.init, in_axes=(0, None))(keys, jnp.zeros((1, obs_dim)))
    x = jax.random.normal(jax.random.key(1), (2, count, obs_dim))  # [envs, count, obs]
    carry = jnp.zeros((2, count, 0))
    _, logits, value = per_learner(policy_step(net), shared=False)(params, carry, x)
    assert logits.shape == (2, count, sum(NVEC)) and value.shape == (2, count)
    one = jax.tree.map(lambda p: p[1], params)  # learner 1 with its own params
    _, logits1, _ = policy_step(net)(one, carry[:, 1], x[:, 1])
    np.testing.assert_allclose(np.asarray(logits[:, 1]), np.asarray(logits1), rtol=1e-6)
    step = policy_step(net)
    assert per_learner(step, shared=True) is step  # shared params: the step itself

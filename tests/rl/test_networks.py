"""Tests for quantmarl.rl.distributions and quantmarl.rl.networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.rl import ActorCritic, CentralisedCritic, distributions


def _np_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


# ---------------------------------------------------------------- distributions


def test_split_logits():
    logits = jnp.arange(10.0).reshape(2, 5)
    a, b = distributions.split_logits(logits, (3, 2))
    np.testing.assert_array_equal(a, [[0, 1, 2], [5, 6, 7]])
    np.testing.assert_array_equal(b, [[3, 4], [8, 9]])
    assert a.dtype == jnp.float32
    with pytest.raises(ValueError):
        distributions.split_logits(logits, (3, 3))
    with pytest.raises(ValueError):
        distributions.split_logits(logits, ())


def test_discrete_log_prob_and_entropy_by_hand():
    logits = np.array([[0.2, -1.0, 0.5], [1.5, 0.0, -0.3]])
    actions = np.array([[2], [0]])
    lp = _np_log_softmax(logits)
    want_lp = np.array([lp[0, 2], lp[1, 0]])
    want_ent = -(np.exp(lp) * lp).sum(-1)
    got_lp = distributions.log_prob(jnp.asarray(logits), jnp.asarray(actions), (3,))
    got_ent = distributions.entropy(jnp.asarray(logits), (3,))
    assert got_lp.dtype == jnp.float32 and got_lp.shape == (2,)
    assert got_ent.dtype == jnp.float32 and got_ent.shape == (2,)
    np.testing.assert_allclose(got_lp, want_lp, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_ent, want_ent, rtol=1e-6, atol=1e-6)


def test_multidiscrete_log_prob_and_entropy_by_hand():
    logits = np.array([[0.2, -1.0, 0.5, 0.3, -0.7], [1.5, 0.0, -0.3, 2.0, 2.0]])
    actions = np.array([[1, 0], [2, 1]])
    lp_a = _np_log_softmax(logits[:, :3])
    lp_b = _np_log_softmax(logits[:, 3:])
    want_lp = np.array(
        [lp_a[0, 1] + lp_b[0, 0], lp_a[1, 2] + lp_b[1, 1]],
    )
    want_ent = -(np.exp(lp_a) * lp_a).sum(-1) - (np.exp(lp_b) * lp_b).sum(-1)
    # second row, second component is uniform over 2: entropy log 2
    np.testing.assert_allclose(-(np.exp(lp_b[1]) * lp_b[1]).sum(), np.log(2.0))
    got_lp = distributions.log_prob(jnp.asarray(logits), jnp.asarray(actions), (3, 2))
    got_ent = distributions.entropy(jnp.asarray(logits), (3, 2))
    np.testing.assert_allclose(got_lp, want_lp, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_ent, want_ent, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("nvec", [(3,), (3, 2)])
def test_sample_frequencies_match_softmax(nvec):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(sum(nvec),))
    n = 10_000
    batch = jnp.broadcast_to(jnp.asarray(logits), (n, sum(nvec)))
    acts = np.asarray(distributions.sample(jax.random.key(1), batch, nvec))
    assert acts.shape == (n, len(nvec)) and acts.dtype == np.int32
    start = 0
    for i, k in enumerate(nvec):
        assert acts[:, i].min() >= 0 and acts[:, i].max() < k
        probs = np.exp(_np_log_softmax(logits[start : start + k]))
        freq = np.bincount(acts[:, i], minlength=k) / n
        np.testing.assert_allclose(freq, probs, atol=0.02)
        start += k


def test_sample_within_bounds_batched():
    logits = jax.random.normal(jax.random.key(0), (4, 7, 9)) * 5.0
    acts = distributions.sample(jax.random.key(2), logits, (4, 1, 4))
    assert acts.shape == (4, 7, 3) and acts.dtype == jnp.int32
    a = np.asarray(acts)
    assert (a >= 0).all()
    assert (a[..., 0] < 4).all() and (a[..., 1] == 0).all() and (a[..., 2] < 4).all()


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_actor_critic_shapes_and_dtypes(activation):
    net = ActorCritic(nvec=(3, 2), activation=activation)
    obs = jnp.ones((5, 6, 8), jnp.float32)
    params = net.init(jax.random.key(0), obs)
    logits, value = net.apply(params, obs)
    assert logits.shape == (5, 6, 5) and logits.dtype == jnp.float32
    assert value.shape == (5, 6) and value.dtype == jnp.float32
    for leaf in jax.tree.leaves(params):
        assert leaf.dtype == jnp.float32


def test_actor_critic_float32_with_float64_input():
    net = ActorCritic(nvec=(4,))
    obs = jnp.asarray(np.random.default_rng(0).normal(size=(3, 8)), jnp.float64)
    assert obs.dtype == jnp.float64  # x64 is on
    params = net.init(jax.random.key(0), obs)
    logits, value = net.apply(params, obs)
    assert logits.dtype == jnp.float32 and value.dtype == jnp.float32
    assert logits.shape == (3, 4) and value.shape == (3,)
    for leaf in jax.tree.leaves(params):
        assert leaf.dtype == jnp.float32


def test_actor_critic_init_scale():
    net = ActorCritic(nvec=(5, 3), hidden=(64, 64))
    obs = jax.random.normal(jax.random.key(1), (256, 10))
    params = net.init(jax.random.key(0), obs)
    logits, _ = net.apply(params, obs)
    assert float(jnp.abs(logits).max()) < 0.1  # near-uniform initial policy
    p = params["params"]
    # biases zero; hidden 64x64 kernel orthogonal with gain sqrt(2)
    for part in ("actor", "critic"):
        for layer in p[part].values():
            np.testing.assert_array_equal(layer["bias"], 0.0)
    w = np.asarray(p["actor"]["Dense_1"]["kernel"], np.float64)
    np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(64), atol=1e-4)
    # value head: gain 1.0 (unit-norm column); policy head: gain 0.01
    np.testing.assert_allclose(np.linalg.norm(p["critic"]["Dense_2"]["kernel"]), 1.0, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(p["actor"]["Dense_2"]["kernel"], axis=0), 0.01,
                               rtol=1e-4)


def test_actor_and_critic_torsos_are_separate():
    net = ActorCritic(nvec=(3,))
    obs = jnp.ones((2, 4))
    params = net.init(jax.random.key(0), obs)
    g_value = jax.grad(lambda p: net.apply(p, obs)[1].sum())(params)["params"]
    g_logit = jax.grad(lambda p: net.apply(p, obs)[0].sum())(params)["params"]
    for name in ("Dense_0", "Dense_1", "Dense_2"):
        # actor torso + policy head get no gradient from the value, and vice versa
        actor_v = g_value["actor"][name]
        assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(actor_v))
        assert any(float(jnp.abs(x).max()) > 0.0 for x in jax.tree.leaves(g_logit["actor"][name]))
        critic_l = g_logit["critic"][name]
        assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(critic_l))


def test_actor_inputs_split_local_and_global_features():
    """MAPPO layout: the actor reads only the first ``actor_inputs`` features."""
    net = ActorCritic(nvec=(3,), hidden=(8,), actor_inputs=4)
    obs = jax.random.normal(jax.random.key(2), (5, 10))
    params = net.init(jax.random.key(0), obs)
    logits, value = net.apply(params, obs)
    changed = obs.at[:, 4:].set(7.0)  # only the global part
    logits2, value2 = net.apply(params, changed)
    np.testing.assert_array_equal(logits, logits2)
    assert float(jnp.abs(value - value2).max()) > 0.0
    np.testing.assert_array_equal(net.apply(params, obs, method=ActorCritic.policy), logits)
    assert params["params"]["actor"]["Dense_0"]["kernel"].shape == (4, 8)
    assert params["params"]["critic"]["Dense_0"]["kernel"].shape == (10, 8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nvec": ()},
        {"nvec": (3, 0)},
        {"nvec": (-1,)},
        {"nvec": (3,), "activation": "gelu"},
        {"nvec": (3,), "hidden": (64, 0)},
    ],
)
def test_actor_critic_rejects_bad_fields(kwargs):
    with pytest.raises(ValueError):
        ActorCritic(**kwargs)


def test_actor_critic_jit():
    net = ActorCritic(nvec=(3, 2), hidden=(32,))
    obs = jnp.zeros((7, 4))
    params = net.init(jax.random.key(0), obs)
    f = jax.jit(net.apply)
    logits, value = f(params, obs + 1.0)
    ref_logits, ref_value = net.apply(params, obs + 1.0)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(value, ref_value, rtol=1e-6, atol=1e-7)


def test_centralised_critic():
    critic = CentralisedCritic(hidden=(32, 32), activation="relu")
    state = jnp.ones((4, 3, 12), jnp.float64)
    params = critic.init(jax.random.key(0), state)
    value = jax.jit(critic.apply)(params, state)
    assert value.shape == (4, 3) and value.dtype == jnp.float32
    with pytest.raises(ValueError):
        CentralisedCritic(activation="sigmoid")
    with pytest.raises(ValueError):
        CentralisedCritic(hidden=(0,))


@pytest.mark.parametrize("shape", [(13, 64), (64, 64), (64, 3), (5, 7), (2, 3, 4)])
def test_orthogonal_init_matches_flax_without_lapack(shape):
    import flax.linen as nn

    from quantmarl.rl.networks import orthogonal

    key = jax.random.key(3)
    ours = np.asarray(orthogonal(1.5)(key, shape))
    theirs = np.asarray(nn.initializers.orthogonal(1.5)(key, shape, jnp.float32))
    assert ours.dtype == np.float32 and ours.shape == shape
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    flat = ours.reshape(-1, shape[-1]) / 1.5
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)


def test_vmapped_init_of_wide_networks_does_not_hang():
    """Batched LAPACK QRs under x64 deadlocked jaxlib's CPU pool (``jit(vmap(init))`` of
    64x64 networks, i.e. ``jit(vmap(train))`` over seeds); the initialiser avoids them."""
    import subprocess
    import sys

    code = (
        "import jax, jax.numpy as jnp, quantmarl\n"
        "from quantmarl.rl.networks import ActorCritic, RecurrentActorCritic\n"
        "x = jnp.zeros((1, 20), jnp.float32)\n"
        "net = ActorCritic((3, 5), hidden=(64, 64))\n"
        "rnn = RecurrentActorCritic((3,), hidden=(64, 64), gru_size=64)\n"
        "keys = jax.random.split(jax.random.key(0), 8)\n"
        "jax.block_until_ready(jax.jit(jax.vmap(lambda k: net.init(k, x)))(keys))\n"
        "jax.block_until_ready(jax.jit(jax.vmap(\n"
        "    lambda k: rnn.init(k, rnn.initial_carry((1,)), x)))(keys))\n"
        "print('done')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0 and "done" in out.stdout, out.stderr[-2000:]

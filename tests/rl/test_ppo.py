"""Tests for quantmarl.rl.ppo: GAE, the clipped PPO loss, explained variance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.rl import ActorCritic, distributions, explained_variance, gae, loss_fn, ppo_loss


def _gae_loop(rewards, values, dones, last_value, gamma, lam):
    T = rewards.shape[0]
    adv = np.zeros_like(rewards)
    next_adv = np.zeros_like(last_value)
    for t in reversed(range(T)):
        next_v = last_value if t == T - 1 else values[t + 1]
        nd = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_v * nd - values[t]
        next_adv = delta + gamma * lam * nd * next_adv
        adv[t] = next_adv
    return adv, adv + values


def test_gae_matches_python_loop():
    rng = np.random.default_rng(0)
    T, B, N = 17, 4, 3
    rewards = rng.normal(size=(T, B, N))
    values = rng.normal(size=(T, B, N))
    dones = rng.random(size=(T, B, N)) < 0.2
    last_value = rng.normal(size=(B, N))
    want_adv, want_ret = _gae_loop(rewards, values, dones.astype(np.float64), last_value, 0.97, 0.9)
    adv, ret = jax.jit(gae, static_argnums=(4, 5))(
        jnp.asarray(rewards),
        jnp.asarray(values),
        jnp.asarray(dones),
        jnp.asarray(last_value),
        0.97,
        0.9,
    )
    assert adv.shape == (T, B, N) and ret.shape == (T, B, N)
    np.testing.assert_allclose(adv, want_adv, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ret, want_ret, rtol=1e-6, atol=1e-9)


def test_gae_float32_stays_float32():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(8, 2)).astype(np.float32)
    v = rng.normal(size=(8, 2)).astype(np.float32)
    d = np.zeros((8, 2), bool)
    lv = rng.normal(size=(2,)).astype(np.float32)
    adv, ret = gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(d), jnp.asarray(lv), 0.99, 0.95)
    assert adv.dtype == jnp.float32 and ret.dtype == jnp.float32
    want_adv, _ = _gae_loop(
        r.astype(np.float64),
        v.astype(np.float64),
        d.astype(np.float64),
        lv.astype(np.float64),
        0.99,
        0.95,
    )
    np.testing.assert_allclose(adv, want_adv, rtol=1e-5, atol=1e-5)


def test_gae_hand_example_with_done_in_middle():
    # gamma 0.9, lam 0.8; episode ends at t=1, so t=1 does not bootstrap from t=2.
    # t=2: delta = 3 + 0.9*2.0 - 1.5 = 3.3                  A2 = 3.3
    # t=1: delta = 2 - 1.0 = 1.0 (done)                     A1 = 1.0
    # t=0: delta = 1 + 0.9*1.0 - 0.5 = 1.4; A0 = 1.4 + 0.72*1.0 = 2.12
    adv, ret = gae(
        jnp.array([1.0, 2.0, 3.0]),
        jnp.array([0.5, 1.0, 1.5]),
        jnp.array([False, True, False]),
        jnp.array(2.0),
        0.9,
        0.8,
    )
    np.testing.assert_allclose(adv, [2.12, 1.0, 3.3], rtol=1e-12)
    np.testing.assert_allclose(ret, [2.62, 2.0, 4.8], rtol=1e-12)


# ---------------------------------------------------------------- ppo_loss


def _np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


LOGITS = np.array([[0.5, -0.3], [0.1, 0.9]])
ACTIONS = np.array([[0], [1]])
VALUES = np.array([0.4, -0.2])
OLD_VALUES = np.array([0.1, 0.0])
RETURNS = np.array([0.8, -0.6])
ADV = np.array([1.0, -0.5])
# sample 0: ratio exp(0.3) ~ 1.35 > 1.2 (clipped, A > 0); sample 1: ratio exp(-0.1) ~ 0.905
LOG_RATIO = np.array([0.3, -0.1])


def _hand(normalize, clip_value, clip_eps=0.2, vf_coef=0.5, ent_coef=0.01):
    lp = _np_log_softmax(LOGITS)
    new_lp = lp[np.arange(2), ACTIONS[:, 0]]
    old_lp = new_lp - LOG_RATIO
    ratio = np.exp(new_lp - old_lp)
    adv = ADV
    if normalize:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pol = -np.minimum(ratio * adv, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean()
    err = (VALUES - RETURNS) ** 2
    if clip_value:
        v_clip = OLD_VALUES + np.clip(VALUES - OLD_VALUES, -clip_eps, clip_eps)
        err = np.maximum(err, (v_clip - RETURNS) ** 2)
    vl = 0.5 * err.mean()
    ent = -(np.exp(lp) * lp).sum(-1).mean()
    kl = ((ratio - 1) - np.log(ratio)).mean()
    clip_frac = (np.abs(ratio - 1) > clip_eps).mean()
    loss = pol + vf_coef * vl - ent_coef * ent
    return (
        old_lp,
        loss,
        {
            "policy_loss": pol,
            "value_loss": vl,
            "entropy": ent,
            "approx_kl": kl,
            "clip_frac": clip_frac,
        },
    )


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("clip_value", [False, True])
def test_ppo_loss_hand_computed(normalize, clip_value):
    old_lp, want_loss, want = _hand(normalize, clip_value)
    # sanity on the hand numbers: sample 0 is clipped, value clipping matters for sample 0
    assert want["clip_frac"] == 0.5
    loss, metrics = ppo_loss(
        jnp.asarray(LOGITS),
        jnp.asarray(VALUES),
        jnp.asarray(ACTIONS),
        jnp.asarray(old_lp),
        jnp.asarray(OLD_VALUES),
        jnp.asarray(ADV),
        jnp.asarray(RETURNS),
        (2,),
        clip_value=clip_value,
        normalize_advantages=normalize,
    )
    assert loss.dtype == jnp.float32 and loss.shape == ()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6, atol=1e-6)
    assert set(metrics) == set(want)
    for k, v in want.items():
        np.testing.assert_allclose(metrics[k], v, rtol=1e-6, atol=1e-6, err_msg=k)


def test_value_clipping_changes_value_loss():
    old_lp, _, _ = _hand(False, False)
    args = (
        jnp.asarray(LOGITS),
        jnp.asarray(VALUES),
        jnp.asarray(ACTIONS),
        jnp.asarray(old_lp),
        jnp.asarray(OLD_VALUES),
        jnp.asarray(ADV),
        jnp.asarray(RETURNS),
        (2,),
    )
    _, m_clip = ppo_loss(*args, clip_value=True)
    _, m_plain = ppo_loss(*args, clip_value=False)
    # sample 0: v=0.4, clipped 0.3, R=0.8 -> clipped error 0.25 > 0.16
    np.testing.assert_allclose(m_plain["value_loss"], 0.5 * (0.16 + 0.16) / 2, rtol=1e-6)
    np.testing.assert_allclose(m_clip["value_loss"], 0.5 * (0.25 + 0.16) / 2, rtol=1e-6)


def test_ratio_one_gives_plain_policy_gradient():
    nvec = (3, 2)
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    logits = jax.random.normal(k1, (8, 5), jnp.float32)
    actions = distributions.sample(k2, logits, nvec)
    adv = jax.random.normal(k3, (8,), jnp.float32)
    old_lp = distributions.log_prob(logits, actions, nvec)
    zeros = jnp.zeros((8,), jnp.float32)

    def ppo_obj(lg):
        return ppo_loss(
            lg,
            zeros,
            actions,
            old_lp,
            zeros,
            adv,
            zeros,
            nvec,
            vf_coef=0.0,
            ent_coef=0.0,
            normalize_advantages=False,
        )

    def pg_obj(lg):
        return -(adv * distributions.log_prob(lg, actions, nvec)).mean()

    (loss, metrics), g_ppo = jax.value_and_grad(ppo_obj, has_aux=True)(logits)
    g_pg = jax.grad(pg_obj)(logits)
    np.testing.assert_allclose(g_ppo, g_pg, rtol=1e-5, atol=1e-7)
    assert float(jnp.abs(g_pg).max()) > 0
    np.testing.assert_allclose(loss, -adv.mean(), rtol=1e-6, atol=1e-7)
    assert float(metrics["clip_frac"]) == 0.0
    assert float(metrics["approx_kl"]) == 0.0


def test_clipped_sample_has_no_policy_gradient():
    # ratio 1.35 with positive advantage is clipped: no gradient through sample 0
    old_lp, _, _ = _hand(False, False)
    zeros = jnp.zeros((2,), jnp.float32)
    adv = jnp.array([1.0, 0.0])

    def obj(lg):
        return ppo_loss(
            lg,
            zeros,
            jnp.asarray(ACTIONS),
            jnp.asarray(old_lp),
            zeros,
            adv,
            zeros,
            (2,),
            vf_coef=0.0,
            ent_coef=0.0,
            normalize_advantages=False,
        )[0]

    g = jax.grad(obj)(jnp.asarray(LOGITS, jnp.float32))
    np.testing.assert_array_equal(g, 0.0)


def test_loss_fn_grad_is_finite():
    nvec = (3, 2)
    net = ActorCritic(nvec=nvec, hidden=(16, 16))
    keys = jax.random.split(jax.random.key(0), 5)
    obs = jax.random.normal(keys[0], (32, 6))
    params = net.init(keys[1], obs)
    logits, values = net.apply(params, obs)
    actions = distributions.sample(keys[2], logits, nvec)
    batch = {
        "obs": obs,
        "actions": actions,
        "old_log_probs": distributions.log_prob(logits, actions, nvec) + 0.05,
        "old_values": values,
        "advantages": jax.random.normal(keys[3], (32,)),
        "returns": jax.random.normal(keys[4], (32,)),
    }
    grad_fn = jax.jit(jax.grad(loss_fn, has_aux=True), static_argnums=(1, 3))
    grads, metrics = grad_fn(params, net.apply, batch, nvec)
    leaves = jax.tree.leaves(grads)
    assert all(bool(jnp.isfinite(x).all()) for x in leaves)
    assert any(float(jnp.abs(x).max()) > 0 for x in leaves)
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())


def test_explained_variance():
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(explained_variance(r, r), 1.0)
    np.testing.assert_allclose(explained_variance(jnp.full(4, 2.5), r), 0.0, atol=1e-7)
    v = jnp.array([1.5, 1.5, 3.5, 3.5])
    want = 1 - np.var(np.asarray(r - v)) / np.var(np.asarray(r))
    np.testing.assert_allclose(explained_variance(v, r), want, rtol=1e-6)
    assert bool(jnp.isnan(explained_variance(r, jnp.ones(4))))

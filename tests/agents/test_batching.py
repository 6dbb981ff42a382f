"""Batching a per-agent rule: vmap equals a loop, jit, output checks, draws."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents import registry, rules
from quantmarl.agents.batching import batch, uniforms
from quantmarl.agents.registry import sample_params
from quantmarl.agents.view import make_view
from tests.agents.test_rules import KEY, agent, random_view


def test_vmap_matches_loop():
    n = 16
    params = sample_params(jax.random.key(1), n, "fundamental", n_assets=2)
    params = params.replace(noise=jnp.full(n, 0.05, jnp.float32))
    view = random_view(jax.random.key(2), n_assets=2)
    inv = jax.random.randint(jax.random.key(3), (n, 2), -10, 10, jnp.int64)
    cash = jnp.zeros(n, jnp.int64)
    key = jax.random.key(4)
    batched = registry.get("fundamental").act(key, view, params, inv, cash)
    u = uniforms(key, n, registry.get("fundamental").draws)  # row i is agent i's draws
    rule = jax.jit(rules.fundamental)
    for i in range(n):
        p_i = jax.tree.map(lambda x, i=i: x[i], params)
        out = rule(u[i], view, p_i, inv[i], cash[i])
        for got, want in zip((batched.side, batched.price, batched.qty, batched.asset), out,
                             strict=True):
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(want))


def test_jit_single_behaviour():
    params = sample_params(jax.random.key(1), 8, "mean_reversion", n_assets=3, history_len=16)
    view = random_view(jax.random.key(2))
    args = (jax.random.key(3), view, params, jnp.zeros((8, 3), jnp.int64),
            jnp.zeros(8, jnp.int64))
    act = registry.get("mean_reversion").act
    a, b = jax.jit(act)(*args), act(*args)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_batch_rejects_mixed_slot_counts():
    def mixed(key, view, p, inventory, cash):
        z = jnp.zeros(2, jnp.int64)
        return z, z, z[:1], z.astype(jnp.int32)

    params = sample_params(KEY, 2, "mixed")
    with pytest.raises(ValueError, match="one slot count"):
        batch(mixed)(KEY, make_view(10), params, jnp.zeros((2, 1), jnp.int64),
                              jnp.zeros(2, jnp.int64))


def test_batch_rejects_float_outputs():
    def bad(key, view, p, inventory, cash):
        z = jnp.zeros(2, jnp.int64)
        return z, z.astype(jnp.float32), z, z.astype(jnp.int32)

    params = sample_params(KEY, 2, "bad")
    with pytest.raises(ValueError, match="price must be int64"):
        batch(bad)(KEY, make_view(10), params, jnp.zeros((2, 1), jnp.int64),
                            jnp.zeros(2, jnp.int64))


def test_batch_draws_validation_and_orders_padding():
    with pytest.raises(ValueError, match="draws must be an int >= 0 or None"):
        batch(rules.noise, draws=-1)
    n = 3
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)), agent(asset=1, pair_asset=0))
    o = registry.get("momentum").act(KEY, make_view([10, 20]), params, jnp.zeros((n, 2), jnp.int64),
                              jnp.zeros(n, jnp.int64))
    assert o.slots == 1
    two = o.padded(2)
    assert two.slots == 2 and np.asarray(two.qty[:, 1]).tolist() == [0] * n
    assert np.asarray(two.asset[:, 1]).tolist() == [1] * n  # the agent's own asset
    with pytest.raises(ValueError, match="cannot pad"):
        two.padded(1)


def test_per_step_draws_do_not_depend_on_the_block_size():
    for impl in ("philox4x32", "threefry2x32"):
        key = jax.random.key(3, impl=impl)
        np.testing.assert_array_equal(uniforms(key, 9, 3)[:5], uniforms(key, 5, 3))

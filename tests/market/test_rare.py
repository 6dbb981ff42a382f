"""``rare``: ``lax.cond`` results per batch member, and the work branch skipped under ``vmap``
when no member needs it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from quantmarl.market.rare import rare

CALLS = []


def _work(x, y):
    jax.debug.callback(lambda: CALLS.append(1))
    return x * 3 + y, jnp.sum(x)


def _idle(x, y):
    return x, jnp.zeros((), x.dtype)


def _both(p, x, y):
    return rare(p, _work, _idle, x, y), jax.lax.cond(p, _work, _idle, x, y)


_batched = jax.jit(jax.vmap(_both, in_axes=(0, 0, None)))  # y shared by the batch
_one_pred = jax.jit(jax.vmap(_both, in_axes=(None, 0, 0)))


def test_rare_equals_cond_per_member():
    x = jnp.arange(12, dtype=jnp.int64).reshape(4, 3)
    y = jnp.asarray([5, 6, 7], jnp.int64)
    for pred in ([True, False, True, False], [False] * 4, [True] * 4):
        got, want = _batched(jnp.asarray(pred), x, y)
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(g, w)
    for pred in (True, False):
        got, want = _one_pred(jnp.asarray(pred), x, jnp.stack([y] * 4))
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(g, w)
    got = jax.jit(lambda p, x, y: rare(p, _work, _idle, x, y))(jnp.asarray(True), x[0], y)
    np.testing.assert_array_equal(got[0], x[0] * 3 + y)


def test_rare_skips_work_when_no_member_needs_it():
    f = jax.jit(jax.vmap(lambda p, x, y: rare(p, _work, _idle, x, y), in_axes=(0, 0, None)))
    x = jnp.ones((4, 3), jnp.int64)
    y = jnp.zeros((3,), jnp.int64)
    CALLS.clear()
    jax.block_until_ready(f(jnp.zeros((4,), bool), x, y))
    jax.effects_barrier()
    assert CALLS == []  # a vmapped lax.cond (a select) would run the branch
    jax.block_until_ready(f(jnp.asarray([False, True, False, False]), x, y))
    jax.effects_barrier()
    assert len(CALLS) >= 1

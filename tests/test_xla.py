"""quantmarl._xla.fusion_barrier: the identity, one conditional under vmap."""

from __future__ import annotations

import pytest

from quantmarl import _xla


def test_fusion_barrier_is_the_identity_under_jit_and_vmap():
    import jax
    import jax.numpy as jnp
    import numpy as np

    import quantmarl  # noqa: F401

    tree = {"a": jnp.arange(5, dtype=jnp.int64), "b": (jnp.ones((2, 3), jnp.float32),)}
    for word in (0, 1, -1, 2**31 - 1):
        out = jax.jit(_xla.fusion_barrier)(tree, jnp.asarray(word, jnp.int64))
        for x, y in zip(jax.tree.leaves(out), jax.tree.leaves(tree), strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    words = jnp.asarray([0, 7, 2**32 - 1], jnp.uint32)  # batched word: a select, same values
    xs = jnp.arange(6, dtype=jnp.int64).reshape(3, 2)
    out = jax.vmap(_xla.fusion_barrier)(xs, words)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(xs))
    with pytest.raises(ValueError, match="integer"):
        _xla.fusion_barrier(tree, jnp.float32(1.0))


def test_fusion_barrier_stays_one_conditional_under_vmap():
    import jax
    import jax.numpy as jnp

    import quantmarl  # noqa: F401

    xs = jnp.arange(12, dtype=jnp.int64).reshape(2, 3, 2)
    words = jnp.arange(6, dtype=jnp.uint32).reshape(2, 3)
    f = jax.jit(jax.vmap(jax.vmap(_xla.fusion_barrier)))
    assert (f(xs, words) == xs).all()
    text = f.lower(xs, words).as_text()
    assert text.count("stablehlo.case") == 1 and "stablehlo.select" not in text

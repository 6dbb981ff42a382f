"""The XLA default quantmarl sets on import (:mod:`quantmarl._xla`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from quantmarl import _xla


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("QUANTMARL_XLA_DEFAULTS", raising=False)
    return monkeypatch


def test_apply_appends_the_flag_once(env):
    env.setenv("XLA_FLAGS", "--xla_backend_optimization_level=1")
    assert _xla.apply()
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=1 " + _xla.FLAG
    assert not _xla.apply()  # already there: unchanged
    assert os.environ["XLA_FLAGS"].count(_xla.OPTION) == 1


@pytest.mark.parametrize("setting", ["--xla_cpu_use_fusion_emitters=true", ""])
def test_user_choices_win(env, setting):
    if setting:  # the user named the option: left alone
        env.setenv("XLA_FLAGS", setting)
    else:  # the user opted out
        env.setenv("QUANTMARL_XLA_DEFAULTS", "0")
    assert not _xla.apply()
    assert os.environ.get("XLA_FLAGS", "") == setting


def test_old_jaxlib_is_left_alone(env):
    env.setattr(_xla, "_jaxlib_version", lambda: (0, 6))
    assert not _xla.apply() and "XLA_FLAGS" not in os.environ


def test_import_sets_it_before_the_backend_starts():
    code = ("import os, quantmarl, jax.numpy as jnp; jnp.zeros(2).block_until_ready(); "
            "print(os.environ.get('XLA_FLAGS', ''))")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",
                                                            "QUANTMARL_XLA_DEFAULTS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert _xla.FLAG in out


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

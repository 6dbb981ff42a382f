"""The x64 policy: importing quantmarl enables it, kernels refuse to run without it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import quantmarl
from quantmarl.types import check_int64


def test_import_enables_x64():
    assert quantmarl.x64_enabled()
    assert jnp.asarray(2**40).dtype == jnp.int64


def test_kernels_fail_loudly_when_x64_is_turned_off():
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(RuntimeError, match="jax_enable_x64"):
            quantmarl.require_x64()
        with pytest.raises(RuntimeError, match="jax_enable_x64"):
            check_int64("price", 5)
    finally:
        jax.config.update("jax_enable_x64", True)
    quantmarl.require_x64()


def test_check_int64_names_the_field():
    with pytest.raises(ValueError, match="qty must have dtype int64"):
        check_int64("qty", jnp.zeros(3, jnp.int32))

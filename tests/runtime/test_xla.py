"""quantmarl.runtime.xla and runtime.configure: XLA flags, opt-in from entry points."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from quantmarl import runtime
from quantmarl.runtime import xla

LEVEL1 = "--xla_backend_optimization_level=1"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(xla.OPT_OUT_VARIABLE, raising=False)
    return monkeypatch


def test_add_flags_appends_each_option_once(env):
    env.setenv("XLA_FLAGS", LEVEL1)
    assert xla.add_flags(xla.FUSION_EMITTERS_OFF) == (xla.FUSION_EMITTERS_OFF,)
    assert os.environ["XLA_FLAGS"] == f"{LEVEL1} {xla.FUSION_EMITTERS_OFF}"
    assert xla.add_flags(xla.FUSION_EMITTERS_OFF, "--xla_backend_optimization_level=3") == ()
    assert os.environ["XLA_FLAGS"] == f"{LEVEL1} {xla.FUSION_EMITTERS_OFF}"  # user's wins
    with pytest.raises(ValueError, match="--option=value"):
        xla.add_flags("xla_cpu_use_fusion_emitters")


def test_configure_sets_the_test_suites_flags_in_order(env):
    assert runtime.configure(optimization_level=1) == (LEVEL1, xla.FUSION_EMITTERS_OFF)
    assert os.environ["XLA_FLAGS"] == f"{LEVEL1} {xla.FUSION_EMITTERS_OFF}"
    assert runtime.configure() == ()  # idempotent
    for bad in (4, -1, True, 1.0):
        with pytest.raises(ValueError, match="optimization_level must be an int in"):
            runtime.configure(optimization_level=bad)
    with pytest.raises(ValueError, match="lean_memory must be a bool"):
        runtime.configure(lean_memory=1)


def test_opt_out_and_old_jaxlib_add_no_default(env):
    env.setenv(xla.OPT_OUT_VARIABLE, "0")
    assert runtime.configure() == () and "XLA_FLAGS" not in os.environ
    env.delenv(xla.OPT_OUT_VARIABLE)
    env.setattr(xla, "jaxlib_version", lambda: (0, 6))
    assert xla.default_flags() == ()
    assert runtime.configure(optimization_level=2) == ("--xla_backend_optimization_level=2",)


def test_importing_quantmarl_leaves_xla_flags_alone():
    code = ("import os, quantmarl, quantmarl.rl, quantmarl.env, jax.numpy as jnp; "
            "jnp.zeros(2).block_until_ready(); print(repr(os.environ.get('XLA_FLAGS')))")
    environ = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "None"


def test_cpu_compiler_options_give_jit_the_optimization_level():
    import jax

    opts = xla.cpu_compiler_options(1)
    assert opts == ({"xla_backend_optimization_level": 1} if jax.default_backend() == "cpu"
                    else None)
    assert int(jax.jit(lambda x: x + 1, compiler_options=opts)(1)) == 2
    with pytest.raises(ValueError, match="optimization_level must be an int in"):
        xla.cpu_compiler_options(7)

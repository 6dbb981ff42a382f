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

"""quantmarl.memory: allocator hygiene for processes that own their memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from quantmarl import memory


def test_bad_arena_count_is_refused():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be an int >= 1"):
            memory.limit_arenas(bad)


def test_release_and_limit_run_in_a_fresh_process():
    code = ("from quantmarl import memory\n"
            "print(memory.limit_arenas(2), memory.release())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    on_glibc = memory._libc() is not None
    assert out[0] == str(on_glibc)
    assert out[1] in ("True", "False")


def test_forget_compiled_keeps_programs_working():
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x: x * 2)
    assert int(f(jnp.int64(3))) == 6
    assert memory.forget_compiled() in (True, False)
    assert int(f(jnp.int64(4))) == 8  # recompiled on demand

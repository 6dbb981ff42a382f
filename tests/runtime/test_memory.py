"""quantmarl.runtime.memory: allocator hygiene for processes that own their memory."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from quantmarl.runtime import memory

ON_GLIBC = memory._libc() is not None


def test_bad_arena_count_is_refused():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be an int >= 1"):
            memory.limit_arenas(bad)


def test_limit_arenas_applies_on_glibc_in_a_fresh_process():
    code = ("from quantmarl.runtime import memory\n"
            "print(memory.limit_arenas(2))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(ON_GLIBC)]


def test_release_returns_freed_heap_memory():
    garbage = [bytes(1000) for _ in range(100_000)]  # ~100 MB of small heap blocks
    del garbage
    assert memory.release() is ON_GLIBC  # malloc_trim hands the freed pages back


def test_forget_compiled_drops_programs_and_keeps_them_working():
    f = jax.jit(lambda x: x * 2)
    assert int(f(jnp.int64(3))) == 6
    assert f._cache_size() == 1
    assert memory.forget_compiled() is ON_GLIBC
    assert f._cache_size() == 0  # the compiled program is gone
    assert int(f(jnp.int64(4))) == 8  # recompiled on demand

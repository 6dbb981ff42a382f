"""Suite-wide setup: cheaper XLA compiles and a persistent compilation cache shared by the
tests of one run.

The suite's time is mostly XLA compiling many small programs. On CPU, LLVM
optimisation level 1 compiles about 30% faster than the default with the same
results (the programs are tiny, so run time hardly matters). The suite runs
with quantmarl's runtime defaults (fusion emitters off) plus that level, set by
:func:`quantmarl.runtime.configure` through ``XLA_FLAGS`` before any backend
starts, so subprocesses (CLI tests, notebook kernels) inherit them. The golden
tests' floats depend on these flags.

Many tests compile the same programs (one trainer config trained, restored and
resumed; the same env stepped by several shells); with the cache the second
compile of an identical program is a disk read. The cache lives in a fresh
temporary directory per test process (each xdist worker has its own), so every
run starts cold and stays independent.
"""

from __future__ import annotations

import shutil
import tempfile

import jax
import pytest

from quantmarl import runtime

runtime.configure(optimization_level=1)  # before any computation

_CACHE = tempfile.mkdtemp(prefix="quantmarl-xla-cache-")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(scope="session", autouse=True)
def _remove_compilation_cache():
    yield
    shutil.rmtree(_CACHE, ignore_errors=True)

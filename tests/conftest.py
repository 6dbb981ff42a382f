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
resumed; the same env stepped by several shells and test files); with the cache
the second compile of an identical program is a disk read. One cache in a fresh
temporary directory serves the whole run: the process that loads this file first
(pytest's main process) creates it and passes it to the xdist workers through
``QUANTMARL_TEST_XLA_CACHE``, so a program compiled by one worker is read by the
other; eviction is on so JAX guards reads and writes with a file lock. The
creator removes it at exit, so every run starts cold and stays independent.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jax

from quantmarl import runtime

runtime.configure(optimization_level=1)  # before any computation

_ENV = "QUANTMARL_TEST_XLA_CACHE"
_OWNER = _ENV not in os.environ
if _OWNER:
    os.environ[_ENV] = tempfile.mkdtemp(prefix="quantmarl-xla-cache-")
_CACHE = os.environ[_ENV]
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
jax.config.update("jax_compilation_cache_max_size", 8 * 2**30)  # eviction on: file-locked


def pytest_unconfigure(config):
    if _OWNER:
        shutil.rmtree(_CACHE, ignore_errors=True)

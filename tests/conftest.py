"""Suite-wide setup: a persistent XLA compilation cache shared by the tests of one run.

Many tests compile the same programs (one trainer config trained, restored and
resumed; the same env stepped by several shells); with the cache the second
compile of an identical program is a disk read. The cache lives in a fresh
temporary directory per session, so every run starts cold and stays independent.
"""

from __future__ import annotations

import shutil
import tempfile

import jax
import pytest

_CACHE = tempfile.mkdtemp(prefix="quantmarl-xla-cache-")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(scope="session", autouse=True)
def _remove_compilation_cache():
    yield
    shutil.rmtree(_CACHE, ignore_errors=True)

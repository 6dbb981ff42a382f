"""Keep a process's resident memory low while JAX compiles and runs large markets.

Most of the memory a quantmarl process needs is transient: XLA compiling a
program, Python tracing it. glibc's allocator keeps freed memory in
per-thread arenas instead of returning it, so each phase (tracing, compiling
on XLA's threads, running) grows the process on top of the last. Two calls
undo that, for entry points that own their process (the live demo, the
memory benchmark):

* :func:`limit_arenas` (call it first, before JAX starts its thread pools;
  ``quantmarl.runtime.configure(lean_memory=True)`` does): all threads share
  one malloc arena, so memory freed by one phase is reused by the next;
* :func:`release` (call it between phases): collect Python garbage and hand
  freed heap pages back to the OS (``malloc_trim``);
* :func:`forget_compiled` (after a one-off phase such as building params and
  resetting the market): drop JAX's compiled programs, whose machine code
  and caches otherwise stay resident through the big compile that follows,
  then :func:`release`. Programs called again are recompiled.

Measured on 2 CPU cores (100k-agent auction market, ``benchmarks/market.py``):
peak RSS of the whole process about 480 MB without them, under 400 MB with
them, at the same speed. On platforms without glibc both are no-ops.
A library should not change its host's allocator, so importing quantmarl
never calls them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache

import jax

M_ARENA_MAX = -8  # glibc mallopt parameter


@cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None  # not glibc
    return libc


def limit_arenas(n: int = 1) -> bool:
    """Cap glibc's malloc arenas at ``n`` (>= 1); True if applied."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, n))


def release() -> bool:
    """Collect garbage and return freed heap memory to the OS; True if memory was returned."""
    gc.collect()
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))


def forget_compiled() -> bool:
    """Drop JAX's caches of compiled programs (``jax.clear_caches``), then :func:`release`."""
    jax.clear_caches()
    return release()

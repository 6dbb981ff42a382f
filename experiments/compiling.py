"""Compiling the experiments' programs: XLA options and a per-object cache of
compiled functions (so a second run in one process, or another stress condition,
reuses the compile)."""

from __future__ import annotations

import jax

from quantmarl.runtime.xla import cpu_compiler_options

__all__ = ["OPTIMIZATION_LEVEL", "cached", "jit"]

#: LLVM optimisation level of the experiments' programs on CPU: level 1 halves compile
#: time against the default (measured on 2 CPU cores: 42 s -> 20 s for a training
#: program) at the same run speed. Compile time dominates the quick runs.
OPTIMIZATION_LEVEL = 1


def jit(fn):
    """``jax.jit`` with :data:`OPTIMIZATION_LEVEL` on CPU (XLA's defaults elsewhere)."""
    return jax.jit(fn, compiler_options=cpu_compiler_options(OPTIMIZATION_LEVEL))


def cached(owner, name: str, build):
    """``build()`` once per ``(owner, name)``, kept on ``owner`` (compiled-function cache)."""
    cache = owner.__dict__.setdefault("_experiment_fns", {})
    if name not in cache:
        cache[name] = build()
    return cache[name]

"""Process-wide runtime settings, opt-in from entry points (CLIs, demo, benchmarks,
experiments); importing quantmarl never applies them (only ``jax_enable_x64``).

Call :func:`configure` first thing in a program's ``main``, before any JAX
computation runs::

    from quantmarl import runtime
    runtime.configure()                      # quantmarl's XLA default (fusion emitters off)
    runtime.configure(lean_memory=True)      # also one malloc arena (long-running processes)

:mod:`quantmarl.runtime.xla` holds the flags, :mod:`quantmarl.runtime.memory`
the allocator helpers (``release``, ``forget_compiled``) for use between phases.
"""

from __future__ import annotations

from quantmarl.runtime import memory, xla


def configure(*, optimization_level: int | None = None,
              lean_memory: bool = False) -> tuple[str, ...]:
    """Apply quantmarl's runtime settings to this process; returns the XLA flags added.

    * XLA flags (effective only before the first JAX computation): an
      ``optimization_level`` (0..3, LLVM on CPU; ``None`` keeps XLA's) first,
      then :func:`quantmarl.runtime.xla.default_flags`. Options already named
      in ``XLA_FLAGS`` are left as the user set them.
    * ``lean_memory``: all threads share one malloc arena
      (:func:`quantmarl.runtime.memory.limit_arenas`), before JAX starts its threads.
    """
    if not isinstance(lean_memory, bool):
        raise ValueError(f"lean_memory must be a bool, got {lean_memory!r}")
    flags = () if optimization_level is None else (xla.optimization_level_flag(
        optimization_level),)
    added = xla.add_flags(*flags, *xla.default_flags())
    if lean_memory:
        memory.limit_arenas(1)
    return added


__all__ = ["configure", "memory", "xla"]

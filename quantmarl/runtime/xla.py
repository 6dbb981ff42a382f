"""XLA flags: quantmarl's CPU default and how to add flags before JAX's backend starts.

quantmarl's work is many mid-sized XLA programs (a market step, a PPO update)
compiled once and run many times. On CPU, XLA's newer fusion emitters roughly
double the memory a compile needs without running these programs faster; with
the classic emitters (:data:`FUSION_EMITTERS_OFF`; measured on 2 CPU cores,
jax 0.10.2, 100k-agent market step) peak RSS falls from about 850 MB to about
470 MB, compiles are about 20% faster, and run speed is the same within noise
(``benchmarks/market.py``).

XLA reads ``XLA_FLAGS`` once, when its CPU backend starts (the first JAX
computation of the process), so :func:`add_flags` only has an effect before
that. Importing quantmarl never calls it: entry points opt in through
:func:`quantmarl.runtime.configure`. GPUs are not affected by these options.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

import jax

#: the classic CPU fusion emitters (half the compile memory, same run speed)
FUSION_EMITTERS_OFF = "--xla_cpu_use_fusion_emitters=false"
#: jaxlib versions older than this may not know the option (XLA aborts on unknown flags)
FUSION_EMITTERS_MIN_JAXLIB = (0, 10)
#: ``QUANTMARL_XLA_DEFAULTS=0`` keeps XLA's own defaults (``configure`` adds no flag)
OPT_OUT_VARIABLE = "QUANTMARL_XLA_DEFAULTS"


def jaxlib_version() -> tuple[int, ...]:
    """``(major, minor)`` of the installed jaxlib; ``(0, 0)`` when it is not installed."""
    try:
        parts = version("jaxlib").split(".")[:2]
    except PackageNotFoundError:
        return (0, 0)
    return tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts)


def option_name(flag: str) -> str:
    """``"--xla_foo=1"`` -> ``"xla_foo"``."""
    return flag.lstrip("-").split("=", 1)[0]


def add_flags(*flags: str) -> tuple[str, ...]:
    """Append each of ``flags`` to ``XLA_FLAGS`` unless the variable already names its
    option (a user's own setting wins); returns the flags added, in order."""
    added = []
    for flag in flags:
        if not flag.startswith("--") or "=" not in flag:
            raise ValueError(f"flag must look like '--option=value', got {flag!r}")
        current = os.environ.get("XLA_FLAGS", "")
        if option_name(flag) in current:
            continue
        os.environ["XLA_FLAGS"] = f"{current} {flag}".strip()
        added.append(flag)
    return tuple(added)


def default_flags() -> tuple[str, ...]:
    """quantmarl's default flags for this process: :data:`FUSION_EMITTERS_OFF` where
    jaxlib knows it, none when ``QUANTMARL_XLA_DEFAULTS=0``."""
    if os.environ.get(OPT_OUT_VARIABLE, "1") == "0":
        return ()
    if jaxlib_version() < FUSION_EMITTERS_MIN_JAXLIB:
        return ()
    return (FUSION_EMITTERS_OFF,)


def optimization_level_flag(level: int) -> str:
    """``--xla_backend_optimization_level=level`` (LLVM optimisation on CPU, 0..3)."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 3:
        raise ValueError(f"optimization_level must be an int in [0, 3], got {level!r}")
    return f"--xla_backend_optimization_level={level}"


def cpu_compiler_options(optimization_level: int) -> dict[str, int] | None:
    """Per-program options for ``jax.jit(fn, compiler_options=...)``: the LLVM
    ``optimization_level`` when JAX runs on CPU, ``None`` (XLA's defaults) elsewhere.
    Unlike :func:`add_flags` this works after the backend has started and touches only
    the programs it is given to. Starts the backend (it asks JAX for the default one)."""
    optimization_level_flag(optimization_level)  # validates
    if jax.default_backend() != "cpu":
        return None
    return {"xla_backend_optimization_level": optimization_level}

"""XLA specifics in one place: the CPU fusion-emitter default.

quantmarl's work is many mid-sized XLA programs (a market step, a PPO update)
compiled once and run many times. On CPU, XLA's newer fusion emitters roughly
double the memory a compile needs without running these programs faster; with
the classic emitters (measured on 2 CPU cores, jax 0.10.2, 100k-agent market
step) peak RSS falls from about 850 MB to about 470 MB, compiles are about 20%
faster, and run speed is the same within noise (``benchmarks/market.py``).

:func:`apply` appends ``--xla_cpu_use_fusion_emitters=false`` to ``XLA_FLAGS``
when quantmarl is imported, which takes effect if no JAX computation has run
yet in the process (XLA reads the variable when its CPU backend starts). It
does nothing when ``XLA_FLAGS`` already names the option, when
``QUANTMARL_XLA_DEFAULTS=0``, or for jaxlib older than 0.10 (where the option
may not exist: XLA aborts on unknown flags). GPUs are not affected.
"""

from __future__ import annotations

import os

OPTION = "xla_cpu_use_fusion_emitters"
FLAG = f"--{OPTION}=false"
MIN_JAXLIB = (0, 10)


def _jaxlib_version() -> tuple[int, ...]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = version("jaxlib").split(".")[:2]
        return tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts)
    except PackageNotFoundError:
        return (0, 0)


def apply() -> bool:
    """Add :data:`FLAG` to ``XLA_FLAGS`` (see the module docstring); True if added."""
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get("QUANTMARL_XLA_DEFAULTS", "1") == "0" or OPTION in flags:
        return False
    if _jaxlib_version() < MIN_JAXLIB:
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    return True

"""Shared helpers for the benchmark scripts: timing, JSON lines, machine description."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import jax


def record(name: str, value: float | str, unit: str) -> dict:
    """One benchmark result line."""
    return {"name": name, "value": value, "unit": unit}


def emit(records: list[dict]) -> None:
    """Print records as JSON lines (flushing, so progress is visible)."""
    for r in records:
        print(json.dumps(r), flush=True)


def machine() -> dict:
    """A description of where the numbers were taken."""
    desc = (
        f"{platform.machine()} {platform.processor() or ''}".strip()
        + f", {os.cpu_count()} cores, jax {jax.__version__} on {jax.default_backend()}"
        + f" ({jax.devices()[0].device_kind})"
    )
    return record("machine", desc, "info")


def compile_seconds(jitted, *args) -> float:
    """Seconds to lower and compile ``jitted`` for ``args`` (reported apart from run time)."""
    t0 = time.perf_counter()
    jitted.lower(*args).compile()
    return time.perf_counter() - t0


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` (results blocked on), after one untimed warm-up call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)

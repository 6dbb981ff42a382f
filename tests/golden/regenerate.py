"""Record the golden values: ``python -m tests.golden.regenerate [CASE ...]``.

Run only for an intended change of behaviour, and say so in the commit. The values
are recorded under the test suite's XLA flags (``tests/conftest.py``).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import jax
import numpy as np

import tests.conftest  # noqa: F401  (the suite's XLA flags: floats depend on them)
from tests.golden.cases import CASES

DATA = Path(__file__).parent / "data"
# vector extensions XLA:CPU may use: floats can round differently when these differ
_SIMD = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl",
         "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "asimd", "sve")


def build_fingerprint() -> dict[str, str]:
    """The jax version, machine and CPU vector extensions the floats were recorded with."""
    flags: set[str] = set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
                break
    cpu = " ".join(f for f in _SIMD if f in flags) or platform.processor()
    return {"__jax__": jax.__version__, "__machine__": platform.machine(), "__cpu__": cpu}


def main(names: list[str]) -> None:
    DATA.mkdir(exist_ok=True)
    for name in names or list(CASES):
        values = CASES[name]()
        meta = {k: np.asarray(v) for k, v in build_fingerprint().items()}
        np.savez_compressed(DATA / f"{name}.npz", **values, **meta)
        print(f"{name}: {len(values)} arrays -> {DATA / name}.npz")


if __name__ == "__main__":
    main(sys.argv[1:])

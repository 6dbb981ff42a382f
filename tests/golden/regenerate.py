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


def main(names: list[str]) -> None:
    DATA.mkdir(exist_ok=True)
    for name in names or list(CASES):
        values = CASES[name]()
        meta = {"__jax__": np.asarray(jax.__version__), "__machine__": np.asarray(
            platform.machine())}
        np.savez_compressed(DATA / f"{name}.npz", **values, **meta)
        print(f"{name}: {len(values)} arrays -> {DATA / name}.npz")


if __name__ == "__main__":
    main(sys.argv[1:])

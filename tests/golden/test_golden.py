"""Golden outputs: market runs (CDA and auction), an env rollout and a PPO run, bit for bit.

The values in ``data/`` were recorded with the jax version, machine and CPU vector
extensions stored beside them (``regenerate.build_fingerprint``). Integer outputs
(prices, lots, cash, counters) must match exactly everywhere. Float outputs must match
exactly on the recording's build; elsewhere XLA may round differently (an AVX2 and an
AVX-512 CPU give PPO parameters 3e-10 apart, and near-zero policy losses 3.5e-5 of their
field's largest magnitude), and they are compared with rtol 1e-4 and an absolute
tolerance of 1e-4 of the field's largest magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.golden.cases import CASES
from tests.golden.regenerate import DATA, build_fingerprint


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    want = dict(np.load(DATA / f"{name}.npz"))
    recorded = {k: str(want.pop(k)) for k in [k for k in want if k.startswith("__")]}
    same_build = recorded == build_fingerprint()
    got = CASES[name]()
    assert sorted(got) == sorted(want)
    for field, value in want.items():
        assert got[field].dtype == value.dtype, field
        assert got[field].shape == value.shape, field
        if same_build or not np.issubdtype(value.dtype, np.floating):
            np.testing.assert_array_equal(got[field], value, err_msg=field)
        else:
            finite = np.abs(value[np.isfinite(value)])
            scale = float(finite.max()) if finite.size else 0.0
            np.testing.assert_allclose(got[field], value, rtol=1e-4, atol=1e-4 * scale,
                                       err_msg=field)

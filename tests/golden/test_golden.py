"""Golden outputs: market runs (CDA and auction), an env rollout and a PPO run, bit for bit.

The values in ``data/`` were recorded on x86_64 with the jax version stored
beside them. Integer outputs (prices, lots, cash, counters) must match exactly
everywhere. Float outputs must match exactly on the recording's jax version
and machine; elsewhere XLA may round differently, and they are compared with
rtol 1e-5.
"""

from __future__ import annotations

import platform

import jax
import numpy as np
import pytest

from tests.golden.cases import CASES
from tests.golden.regenerate import DATA


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    want = dict(np.load(DATA / f"{name}.npz"))
    same_build = (str(want.pop("__jax__")) == jax.__version__
                  and str(want.pop("__machine__")) == platform.machine())
    got = CASES[name]()
    assert sorted(got) == sorted(want)
    for field, value in want.items():
        assert got[field].dtype == value.dtype, field
        assert got[field].shape == value.shape, field
        if same_build or not np.issubdtype(value.dtype, np.floating):
            np.testing.assert_array_equal(got[field], value, err_msg=field)
        else:
            np.testing.assert_allclose(got[field], value, rtol=1e-5, err_msg=field)

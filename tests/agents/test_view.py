"""What agents see and send: view and order helpers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents.view import make_view, no_orders


def test_no_orders_and_make_view():
    o = no_orders(3)
    assert o.side.shape == (3, 2) and o.side.dtype == jnp.int64 and o.asset.dtype == jnp.int32
    assert not np.asarray(o.qty).any()
    v = make_view([10, 20], history_len=4)
    assert v.history.shape == (4, 2) and v.history.dtype == jnp.int64
    assert v.n_assets == 2 and v.history_len == 4
    assert v.liquidity_mult.dtype == jnp.float32
    with pytest.raises(ValueError, match="integer ticks"):
        make_view([10.5])
    with pytest.raises(ValueError, match="n must"):
        no_orders(-1)

"""The static order layout: groups from the behaviour records, flat/unflat, concat."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents.view import Orders
from quantmarl.market import MarketConfig
from quantmarl.market.layout import Group, concat, flat, groups, owners, per_asset, unflat

CONFIG = MarketConfig(n_smart=2, reactive=(("market_maker", 3), ("noise", 4)))


def test_groups_take_slots_from_the_records():
    assert groups(CONFIG) == (Group("smart", 0, 2, 2), Group("market_maker", 2, 3, 2),
                              Group("noise", 5, 4, 1))
    assert owners(CONFIG).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8]


def test_flat_and_unflat_are_inverse():
    parts = []
    offset = 0
    for g in groups(CONFIG):
        x = jnp.arange(offset, offset + g.count * g.slots, dtype=jnp.int64)
        parts.append(Orders(side=x.reshape(g.count, g.slots), price=x.reshape(g.count, g.slots),
                            qty=x.reshape(g.count, g.slots),
                            asset=x.reshape(g.count, g.slots).astype(jnp.int32)))
        offset += g.count * g.slots
    side, _, _, asset = flat(tuple(parts))
    assert side.tolist() == list(range(14)) and asset.dtype == jnp.int32
    for got, want in zip(unflat(side, CONFIG), parts, strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want.side))


def test_concat_equals_jnp_concatenate_and_per_asset_masks():
    a, b = jnp.arange(6).reshape(2, 3), jnp.arange(6, 10).reshape(2, 2)
    got = jax.jit(concat)([a, b, jnp.zeros((2, 0), a.dtype)])
    np.testing.assert_array_equal(np.asarray(got), np.asarray(jnp.concatenate([a, b], -1)))
    x, asset = jnp.array([5, 6, 7]), jnp.array([1, 0, 1])
    assert per_asset(x, asset, 2, -1).tolist() == [[-1, 6, -1], [5, -1, 7]]
    assert per_asset(x, asset, 1, -1).tolist() == [[5, 6, 7]]

"""Clearing returns one typed result in both modes."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import pytest

from quantmarl.market import default_params, hold, reset
from quantmarl.market.clearing import Cleared
from quantmarl.market.step import step
from tests.market.conftest import make_config

step_module = importlib.import_module("quantmarl.market.step")  # the package exports step()


@pytest.mark.parametrize("mode", ["auction", "cda"])
def test_cleared_fields_and_books(mode, monkeypatch):
    seen = {}
    for name in ("clear_auction", "clear_cda"):
        real = getattr(step_module, name)

        def spy(*args, real=real):
            seen["cleared"] = out = real(*args)
            return out

        monkeypatch.setattr(step_module, name, spy)
    config = make_config(mode, n_assets=2)
    params = default_params(config)
    state = reset(jax.random.key(0), config, params)
    new_state, record = step(jax.random.key(1), state, hold(config.n_smart), config, params)
    c = seen["cleared"]
    assert isinstance(c, Cleared)
    a, n = config.n_assets, config.n_accounts
    assert c.cash.shape == (n,) and c.position.shape == (n, a) and c.depth.shape == (a, 2)
    for field in ("cash", "position", "fees", "open", "close", "volume", "n_trades",
                  "best_bid", "best_ask", "depth", "book_refusals"):
        assert getattr(c, field).dtype == jnp.int64, field
    assert int(c.cash.sum()) == -int(c.fees)  # money only moves between accounts and fees
    assert (c.books is None) == (mode == "auction")
    assert (record.close == c.close).all()

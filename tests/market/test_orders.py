"""This step's orders: behaviour flags read from the records (requoting, withdrawal)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.agents import registry
from quantmarl.agents.view import make_view
from quantmarl.events.effects import no_effects
from quantmarl.market import MarketConfig, default_params, hold, reset, step
from quantmarl.market.orders import agent_orders, requoting


@pytest.fixture
def quoters(monkeypatch):
    """Two user behaviours quoting like the market maker, one requoting, one not."""
    monkeypatch.setattr(registry, "BEHAVIOURS", dict(registry.BEHAVIOURS))
    act = registry.get("market_maker").act
    registry.register("sticky_quoter", act, slots=2)
    registry.register("fresh_quoter", act, slots=2, requotes=True, withdraws_in_stress=True)


def _config(*reactive):
    return MarketConfig(n_smart=1, reactive=reactive, background_orders=16, clearing="cda",
                        book_capacity=64)


def test_requoting_mask_follows_the_records(quoters):
    del quoters
    config = _config(("sticky_quoter", 2), ("fresh_quoter", 3), ("noise", 1))
    mask = np.asarray(requoting(config, jnp.array([True] + [False] * 6)))
    # learner (replaces), sticky x2, fresh x3, noise, background account
    assert mask.tolist() == [True, False, False, True, True, True, False, False]


def test_a_user_behaviour_that_requotes_keeps_one_quote_per_side(quoters):
    del quoters
    config = _config(("sticky_quoter", 2), ("fresh_quoter", 2))
    params = default_params(config)
    # no background flow, one half-spread, no skew, room on both sides (the starting
    # position is 100 lots): the quoters alone at fixed prices
    params = params.replace(
        replace_orders=jnp.asarray(0.0),  # only the records' flags cancel resting orders
        background=params.background.replace(base_intensity=jnp.asarray(0.0),
                                             excitation=jnp.asarray(0.0)),
        behaviours=tuple(d.replace(spread_lo=2.0, spread_hi=2.0, skew_hi=0.0,
                                   max_inventory_lo=500.0, max_inventory_hi=500.0)
                         for d in params.behaviours))
    state = reset(jax.random.key(0), config, params)
    n_steps = 4
    for i in range(n_steps):
        state, _ = step(jax.random.key(i + 1), state, hold(1), config, params)
    book = jax.tree.map(lambda x: np.asarray(x[0]), state.books)
    live = np.arange(book.owner.shape[1])[None, :] < book.count[:, None]  # [2, cap]
    resting = {acct: (np.sum(live[0] & (book.owner[0] == acct)),
                      np.sum(live[1] & (book.owner[1] == acct))) for acct in range(1, 5)}
    # accounts 1-2 sticky: every step's quotes still rest; 3-4 fresh: this step's only
    assert resting == {1: (n_steps, n_steps), 2: (n_steps, n_steps), 3: (1, 1), 4: (1, 1)}


def test_a_user_behaviour_that_withdraws_sends_nothing_under_withdrawal(quoters):
    del quoters
    config = _config(("sticky_quoter", 2), ("fresh_quoter", 2))
    params = default_params(config)
    state = reset(jax.random.key(0), config, params)
    view = make_view(1000, history_len=config.history)
    fx = no_effects(1).replace(withdraw_liquidity=jnp.array([True]))
    groups, _, _ = agent_orders(jax.random.key(1), state, view, fx, hold(1), config)
    _, sticky, fresh = groups
    assert (np.asarray(sticky.qty) > 0).any()
    assert not np.asarray(fresh.qty).any() and not np.asarray(fresh.side).any()

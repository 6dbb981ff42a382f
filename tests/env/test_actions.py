"""Action encodings: the built-in decoders, the registry and a user-registered encoding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from gymnasium import spaces

from quantmarl.env import (
    ActionEncoding,
    AgentGroup,
    EnvConfig,
    MarketEnv,
    group_action_space,
    register_action,
)
from quantmarl.env.actions import ACTIONS, get_action, smart_row
from quantmarl.market import MarketConfig
from quantmarl.market.smart import ActionKind


def _decode(name: str, act, group: AgentGroup):
    row, ok = get_action(name).decode(jnp.asarray(act, jnp.int64).reshape(-1), group)
    return {k: int(v) for k, v in vars(row).items()}, bool(ok)


def test_builtin_spaces():
    g = AgentGroup("g", n_offsets=4, n_sizes=2)
    assert group_action_space(AgentGroup("g", action="discrete")) == spaces.Discrete(3)
    assert group_action_space(AgentGroup("g", action="limit", n_offsets=4, n_sizes=2)) == \
        spaces.MultiDiscrete([3, 4, 2, 2])
    assert group_action_space(AgentGroup("g", action="market_maker", n_offsets=4, n_sizes=2)) \
        == spaces.MultiDiscrete([4, 4, 2])
    assert group_action_space(g) is not group_action_space(g)  # a fresh space per call


def test_builtin_decoders():
    g = AgentGroup("g", trade_size=7, n_offsets=4, n_sizes=3, size_unit=5, asset=0)
    row, ok = _decode("discrete", 2, g)
    assert ok and row["kind"] == ActionKind.MARKET and row["side"] == -1 and row["qty"] == 7
    row, ok = _decode("discrete", 0, g)
    assert ok and row["kind"] == ActionKind.HOLD
    assert not _decode("discrete", 3, g)[1]
    row, ok = _decode("limit", [1, 3, 2, 0], g)
    assert ok and (row["kind"], row["side"], row["offset"], row["qty"]) == (
        ActionKind.LIMIT, 1, 3, 15)
    assert _decode("limit", [2, 0, 0, 1], g)[0]["kind"] == ActionKind.CANCEL_ALL
    assert not _decode("limit", [1, 4, 0, 0], g)[1]  # offset outside n_offsets
    row, ok = _decode("market_maker", [0, 2, 1], g)
    assert ok and (row["kind"], row["offset"], row["offset2"], row["qty"], row["qty2"]) == (
        ActionKind.QUOTE, 1, 3, 10, 10)
    assert not _decode("market_maker", [0, 0, 3], g)[1]


def test_registry_errors():
    with pytest.raises(ValueError, match="new identifier"):
        register_action(ActionEncoding("discrete", lambda g: spaces.Discrete(2),
                                       ACTIONS["discrete"].decode))
    with pytest.raises(ValueError, match="must be an ActionEncoding"):
        register_action("discrete")
    with pytest.raises(ValueError, match="must be callables"):
        register_action(ActionEncoding("not_callable_test", None, None))
    with pytest.raises(ValueError, match="unknown action encoding 'teleport'"):
        get_action("teleport")
    with pytest.raises(ValueError, match=r"AgentGroup.action must be one of \('discrete', "):
        AgentGroup("x", action="teleport")


@pytest.fixture
def buy_only():
    """A user encoding: Discrete(2), 0 hold, 1 market buy of trade_size lots."""
    def decode(act, g):
        a = act[0]
        ok = (act.shape[0] == 1) & (a >= 0) & (a <= 1)
        kind = jnp.where(ok & (a == 1), ActionKind.MARKET, ActionKind.HOLD)
        return smart_row(kind, side=1, qty=g.trade_size, asset=g.asset), ok

    enc = register_action(ActionEncoding("buy_only_test", lambda g: spaces.Discrete(2), decode,
                                         "0 hold, 1 market buy"))
    yield enc
    del ACTIONS[enc.name]


def test_user_registered_encoding_drives_the_env(buy_only):
    market = MarketConfig(reactive=(("market_maker", 1), ("noise", 2)), background_orders=8,
                          episode_length=5, clearing="cda", book_capacity=16, history=8)
    env = MarketEnv(EnvConfig(groups=(AgentGroup("b", 2, action="buy_only_test"),),
                              market=market))
    assert env.action_space("b_0") == spaces.Discrete(2)
    p = env.default_params
    _, state = jax.jit(env.reset)(jax.random.key(0), p)
    step = jax.jit(env.step)
    new = state
    for i in range(4):  # the book fills over the first steps; b_0 buys at each one
        _, new, _, _, _, info = step(jax.random.key(i), new,
                                     {"b_0": jnp.asarray(1), "b_1": jnp.asarray(5)}, p)
        assert not bool(info["b_0"]["invalid_action"])
        assert bool(info["b_1"]["invalid_action"])  # outside Discrete(2): hold, counted
    assert int(new.market.ledger.position[1, 0]) == int(state.market.ledger.position[1, 0])
    assert int(new.market.ledger.position[0, 0]) > int(state.market.ledger.position[0, 0])

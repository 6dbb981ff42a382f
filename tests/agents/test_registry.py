"""The behaviour registry and the Behaviour record."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import quantmarl  # noqa: F401  (enables x64)
from quantmarl.agents import registry
from quantmarl.agents.behaviour import Behaviour
from quantmarl.agents.params import BehaviourDistribution
from quantmarl.agents.reactive import BUILT_IN
from quantmarl.agents.registry import sample_params
from quantmarl.agents.view import make_view

KEY = jax.random.key(0)


def test_registry_builtins_and_errors(monkeypatch):
    monkeypatch.setattr(registry, "BEHAVIOURS", dict(registry.BEHAVIOURS))
    assert [registry.get(b.name) for b in BUILT_IN] == list(BUILT_IN)
    assert {b.name for b in BUILT_IN} == {"market_maker", "fundamental", "momentum",
                                          "mean_reversion", "noise", "arbitrage"}
    with pytest.raises(ValueError, match="known behaviours: arbitrage, fundamental"):
        registry.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("noise", registry.get("noise").act)
    for bad in ("", "Bad", "1x", "has space", "dash-name", None, 3):
        with pytest.raises(ValueError, match="Behaviour.name"):
            registry.register(bad, registry.get("noise").act)
    with pytest.raises(TypeError, match="callable"):
        registry.register("not_callable", 42)
    with pytest.raises(TypeError, match="Behaviour record"):
        registry.register_behaviour("noise")


def test_only_the_market_maker_requotes_and_withdraws():
    flags = {b.name: (b.requotes, b.withdraws_in_stress) for b in BUILT_IN}
    assert flags.pop("market_maker") == (True, True)
    assert set(flags.values()) == {(False, False)}
    assert {b.name: b.slots for b in BUILT_IN if b.slots == 2} == {"market_maker": 2,
                                                                  "arbitrage": 2}


@pytest.mark.parametrize("field, value, match", [
    ("slots", 3, "Behaviour.slots"),
    ("slots", True, "Behaviour.slots"),
    ("requotes", 1, "Behaviour.requotes"),
    ("withdraws_in_stress", "yes", "Behaviour.withdraws_in_stress"),
    ("distribution", {}, "Behaviour.distribution"),
])
def test_behaviour_record_validates_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        Behaviour(name="x", act=registry.get("noise").act, **{field: value})


def test_register_user_rule_with_flags_and_default_ranges(monkeypatch):
    monkeypatch.setattr(registry, "BEHAVIOURS", dict(registry.BEHAVIOURS))

    def always_buy_one(key, view, p, inventory, cash):
        del key, inventory, cash
        one = jnp.ones((), jnp.int64)
        zero = jnp.zeros((), jnp.int64)
        return (jnp.stack([one, zero]), jnp.stack([view.last_price[p.asset], zero]),
                jnp.stack([one, zero]), jnp.stack([p.asset, p.asset]).astype(jnp.int32))

    dist = BehaviourDistribution(size_lo=7.0, size_hi=7.0)
    b = registry.register_rule("always_buy_one", always_buy_one, requotes=True,
                               distribution=dist)
    assert registry.get("always_buy_one") is b and b.requotes and not b.withdraws_in_stress
    assert b.rule is always_buy_one and b.draws is None and b.slots == 2
    with pytest.raises(ValueError, match="already registered"):
        registry.register_rule("always_buy_one", always_buy_one)
    view = make_view([50, 60])
    p = sample_params(KEY, 4, "always_buy_one", n_assets=2)
    assert np.asarray(p.size).tolist() == [7] * 4  # the record's default ranges
    o = b.act(KEY, view, p, jnp.zeros((4, 2), jnp.int64), jnp.zeros(4, jnp.int64))
    assert np.asarray(o.side).tolist() == [[1, 0]] * 4
    assert np.asarray(o.price[:, 0]).tolist() == [[50, 60][a] for a in np.asarray(p.asset)]

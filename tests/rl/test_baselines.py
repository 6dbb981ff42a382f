"""Baseline policies (random, hold-only, scripted) and the trained-vs-baselines verdict."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.env.types import AgentGroup
from quantmarl.rl import TrainConfig, make_trainer
from quantmarl.rl.baselines import (
    feature_slices,
    hold_actions,
    rule_for,
    scripted_actions,
)
from quantmarl.rl.compare import compare, episode_metrics, interval
from quantmarl.rl.config import AGENT_TYPES, train_market
from quantmarl.rl.evaluate import POLICIES, make_comparison, make_episodes


def _obs(group: AgentGroup, **values) -> jnp.ndarray:
    """One observation vector of ``group``'s spec with the named features set."""
    cols = feature_slices(group.observation)
    x = np.zeros(max(s.stop for s in cols.values()), np.float32)
    for name, v in values.items():
        x[cols[name]] = v
    return jnp.asarray(x)


def test_each_agent_type_has_its_rule():
    assert {t: rule_for(g) for t, g in AGENT_TYPES.items()} == {
        "market_maker": "quoter", "momentum_trader": "momentum", "arbitrageur": "index",
        "trader": "momentum"}
    assert rule_for(AgentGroup(observation=("fundamental", "volatility"))) == "value"
    with pytest.raises(ValueError, match="no scripted rule"):
        rule_for(AgentGroup(observation=("price", "inventory")))


@pytest.mark.parametrize("momentum, inventory, action", [
    (0.5, 0.0, 1),     # z = 0.5 / (0.1 sqrt 10) = 1.58: buy
    (-0.5, 0.0, 2),    # sell
    (0.2, 0.0, 0),     # z = 0.63: hold
    (0.5, 0.96, 0),    # at the long limit: no buy
    (-0.5, -0.96, 0),  # at the short limit: no sell
])
def test_momentum_rule(momentum, inventory, action):
    g = AGENT_TYPES["momentum_trader"]
    obs = _obs(g, momentum=momentum, volatility=0.1, inventory=inventory)
    assert scripted_actions(g, obs, 1).tolist() == [action]


def test_momentum_rule_from_returns_and_value_rule():
    g = AGENT_TYPES["trader"]  # default spec: 5 returns, no momentum feature
    up = _obs(g, returns=[0.1] * 5, volatility=0.1)  # z = 0.5 / (0.1 sqrt 5) = 2.2
    assert scripted_actions(g, up, 1).tolist() == [1]
    v = AgentGroup(observation=("fundamental", "volatility"))
    # gap 0.002 against one step's volatility 0.1 / 100 = 0.001: z = 2, buy
    assert scripted_actions(v, _obs(v, fundamental=0.002, volatility=0.1), 1).tolist() == [1]
    assert scripted_actions(v, _obs(v, fundamental=-0.0005, volatility=0.1), 1).tolist() == [0]


def test_index_rule_sells_a_rich_asset_with_its_smallest_passive_order():
    g = AGENT_TYPES["arbitrageur"]
    rich = _obs(g, basis=0.3, volatility=0.1)
    cheap = _obs(g, basis=-0.3, volatility=0.1)
    both = jnp.stack([rich, cheap, _obs(g, basis=0.05, volatility=0.1)])
    assert scripted_actions(g, both, 4).tolist() == [[2, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


def test_quoter_and_hold_actions():
    mm = AGENT_TYPES["market_maker"]  # 5 offsets, 3 sizes
    obs = jnp.zeros((2, 3, 17), jnp.float32)
    assert (scripted_actions(mm, obs, 3) == jnp.array([2, 2, 0])).all()
    assert scripted_actions(mm, obs, 3).shape == (2, 3, 3)
    assert (hold_actions(mm, (2, 3), 3) == -1).all()  # no hold in the space: the env holds
    assert (hold_actions(AGENT_TYPES["arbitrageur"], (4,), 4) == 0).all()


def test_interval_and_verdict_by_hand():
    # two seeds x two episodes: per-seed means 0.1 and 0.3 -> mean 0.2, t(1) interval
    vals = np.array([[0.0, 0.2], [0.2, 0.4]])
    got = interval(vals)
    half = 12.706204736 * 0.1 / 1.0  # t_{0.975, 1} * sd / sqrt(2), sd = 0.1414
    assert got["over"] == "seeds" and got["n"] == 2
    assert got["mean"] == pytest.approx(0.2)
    assert got["ci95"] == pytest.approx([0.2 - half, 0.2 + half], rel=1e-6)
    assert interval(vals[:1])["over"] == "episodes"

    # wealth paths [S=1, E=4, T+1=3, n=1]: per-step returns +1% / 0 / 0 -> hand Sharpe
    def paths(step_returns):
        w = np.cumprod(np.concatenate([np.ones((1, len(step_returns), 1, 1)),
                                       1 + np.asarray(step_returns)[None, :, :, None]],
                                      axis=2), axis=2)
        return w
    up = paths([[0.01, 0.02], [0.02, 0.01], [0.01, 0.03], [0.03, 0.01]])
    flat = paths([[0.0, 0.0]] * 4)
    noisy = paths([[0.01, -0.01], [-0.01, 0.01], [0.02, -0.02], [-0.01, 0.0]])
    m = episode_metrics(up, [0])
    r = np.array([0.01, 0.02])
    assert m["sharpe"][0, 0] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(2))
    assert m["pnl"][0, 0] == pytest.approx(1.01 * 1.02 - 1)
    assert episode_metrics(flat, [0])["sharpe"].tolist() == [[0.0] * 4]  # flat path: 0

    good = compare({"greedy": up, "random": noisy, "hold": flat}, {"g": [0]})["g"]
    assert good["trained"] and good["reasons"] == []
    bad = compare({"greedy": noisy, "random": up, "hold": flat}, {"g": [0]})["g"]
    assert not bad["trained"] and len(bad["reasons"]) == 4
    assert "greedy pnl interval does not lie above random's" in bad["reasons"][0]


@pytest.fixture(scope="module")
def mixed_trainer():
    """Untrained learners of two encodings (market maker: no hold action; discrete)."""
    config = TrainConfig(agent_types=("market_maker", "momentum_trader"), n_envs=2, n_steps=4,
                         iterations=1, hidden=(8,),
                         market=train_market(episode_length=10, background_orders=8,
                                             reactive=(("market_maker", 2), ("noise", 4))))
    trainer = make_trainer(config)
    return trainer, jax.jit(trainer.init)(jax.random.key(0)).params


def test_hold_never_trades_and_comparison_equals_single_policies(mixed_trainer):
    trainer, params = mixed_trainer
    key = jax.random.key(5)
    wealth, rec = make_episodes(trainer, 3, "hold", records=True)(key, params)
    learners = np.asarray(rec.agent_qty)[:, :, :2]  # [E, T, learner accounts, A]
    assert (learners == 0).all()
    every = make_comparison(trainer, 3)(key, params)
    assert every.shape == (len(POLICIES), *wealth.shape)
    np.testing.assert_array_equal(every[POLICIES.index("hold")], wealth)
    np.testing.assert_array_equal(every[POLICIES.index("greedy")],
                                  make_episodes(trainer, 3, "greedy")(key, params))
    # the scripted quoter trades; the hold policy's wealth differs from it
    assert not np.array_equal(every[POLICIES.index("scripted")], wealth)

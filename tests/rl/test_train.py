"""End-to-end PPO training: one compile, vmapped seeds == single seeds, exact resume from a
checkpoint, MAPPO / heterogeneous groups / per-learner params / frozen opponents."""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from quantmarl.rl import PRESETS, TrainConfig, checkpoint, make_trainer
from quantmarl.rl.config import train_market
from quantmarl.rl.train import METRICS, seed_keys

TINY = dict(n_envs=4, n_steps=8, iterations=3, update_epochs=2, n_minibatches=2,
            hidden=(16,), seeds=2,
            market=train_market(episode_length=12, background_orders=8,
                                reactive=(("market_maker", 2), ("fundamental", 4), ("noise", 4))))


def tiny(**kw) -> TrainConfig:
    return TrainConfig(**{**TINY, **kw})


def assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(jax.tree.map(_data, a)), jax.tree.leaves(jax.tree.map(_data, b))
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _data(x):
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(x)
    return x


@pytest.fixture(scope="module")
def trained():
    """Two seeds of the tiny config, trained in one vmapped call."""
    config = tiny()
    calls = []
    trainer = make_trainer(config, progress=lambda u, m: calls.append(
        (int(u), float(m["momentum_trader"]["entropy"]))))
    out = jax.jit(jax.vmap(trainer.train))(seed_keys(config))
    jax.block_until_ready(out)
    jax.effects_barrier()
    trainer.calls = list(calls)  # a snapshot: later runs in other tests call it again
    return config, trainer, out


def test_metrics_shapes_and_values(trained):
    config, trainer, out = trained
    assert set(out.metrics) == {"momentum_trader"}
    m = out.metrics["momentum_trader"]
    shares = ("action0_0", "action0_1", "action0_2")  # hold, buy, sell
    assert set(m) == set(METRICS) | set(shares)
    for name in m:
        assert m[name].shape == (config.seeds, config.iterations)
        assert m[name].dtype == jnp.float32
    for name in ("policy_loss", "value_loss", "entropy", "approx_kl", "lr", "grad_norm"):
        assert np.isfinite(np.asarray(m[name])).all(), name
    np.testing.assert_allclose(sum(np.asarray(m[k]) for k in shares), 1.0, rtol=1e-6)
    # input statistics: every rollout input of the 3 updates counted once, per seed
    stats = out.runner.params["momentum_trader"]["obs_norm"]
    np.testing.assert_allclose(np.asarray(stats.count), 1e-4 + 3 * 4 * 8, rtol=1e-6)
    assert stats.mean.shape == (2, trainer.obs_dims["momentum_trader"])
    assert (np.asarray(stats.var) >= 0).all()
    # the optimiser never sees them
    assert "obs_norm" not in out.runner.opt_state["momentum_trader"][1][0].mu
    assert (np.asarray(m["grad_norm"]) > 0).all()
    # annealed learning rate: lr, then linearly down
    lr = np.asarray(m["lr"][0])
    assert lr[0] == pytest.approx(config.lr) and np.all(np.diff(lr) < 0)
    np.testing.assert_array_equal(np.asarray(out.runner.update), [3, 3])
    # 8 steps per update, episodes of 12 steps end at steps 12 and 24 (updates 2 and 3)
    np.testing.assert_array_equal(np.asarray(m["episodes"][0]), [0, 4, 4])
    assert np.isnan(np.asarray(m["pnl"][0, 0])) and np.isfinite(np.asarray(m["pnl"][0, 1]))
    assert np.isfinite(np.asarray(m["entropy"])).all()
    assert float(m["entropy"][0, 0]) <= np.log(3) + 1e-5


def test_vmapped_seeds_equal_individual_seeds(trained):
    config, trainer, out = trained
    single = jax.jit(trainer.train)
    for i, key in enumerate(seed_keys(config)):
        one = single(key)
        for name in ("pnl", "episode_return", "entropy", "value_loss"):
            np.testing.assert_allclose(np.asarray(one.metrics["momentum_trader"][name]),
                                       np.asarray(out.metrics["momentum_trader"][name][i]),
                                       rtol=2e-5, atol=1e-6)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b),
                                                             rtol=2e-5, atol=1e-6),
                     one.runner.params, jax.tree.map(lambda x, i=i: x[i], out.runner.params))


def test_train_compiles_once():
    config = tiny(iterations=1, seeds=1)
    trainer = make_trainer(config)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def train(key):
        return trainer.train(key)

    chex.clear_trace_counter()
    for s in range(3):
        jax.block_until_ready(train(jax.random.key(s)))


def test_checkpoint_round_trip(tmp_path, trained):
    """Saved and restored runner states are identical, PRNG keys included, so a resumed run
    continues exactly (end to end, bit for bit, in tests/rl/test_cli.py)."""
    config, trainer, out = trained
    checkpoint.save(tmp_path, config, out.runner)
    config2, trainer2, restored = checkpoint.restore(tmp_path)
    assert config2 == config
    assert trainer2.learners == trainer.learners
    assert_trees_equal(restored, out.runner)
    meta = checkpoint.load_meta(tmp_path)
    assert meta["update"] == 3 and meta["seeds"] == 2
    assert meta["groups"][0]["name"] == "momentum_trader"


def test_heterogeneous_mappo_per_learner_params_and_frozen_opponents(tmp_path, trained):
    config, _, out = trained
    checkpoint.save(tmp_path / "opp", config, out.runner)
    cfg = tiny(agent_types=("market_maker", "arbitrageur"), algorithm="mappo",
               share_params=False, agents_per_type=2, opponents=(str(tmp_path / "opp"),),
               iterations=2, seeds=1)
    with pytest.raises(ValueError, match="opponents: config.opponents names 1 checkpoint"):
        make_trainer(cfg)  # a trainer reads no file: the caller loads the opponents
    with pytest.raises(ValueError, match="seed index 2 out of range"):
        checkpoint.load_opponents(cfg.opponents, 2)  # the checkpoint holds 2 seeds
    opponents = checkpoint.load_opponents(cfg.opponents, cfg.opponent_seed)
    trainer = make_trainer(cfg, opponents=opponents)
    assert trainer.env.config.market.n_assets == 2  # arbitrageurs need a second asset
    assert trainer.learners == ["market_maker", "arbitrageur"]
    assert trainer.opponent_names == ["opp0_momentum_trader"]
    assert trainer.env.agents[-1] == "opp0_momentum_trader_0"
    result = jax.jit(trainer.train)(jax.random.key(0))
    params = result.runner.params
    # per-learner networks: a leading [2] axis; the critic sees the global state
    kernel = params["market_maker"]["params"]["critic"]["Dense_0"]["kernel"]
    d_mm = trainer.obs_dims["market_maker"]
    assert kernel.shape == (2, d_mm + trainer.global_dim, 16)
    assert params["market_maker"]["params"]["actor"]["Dense_0"]["kernel"].shape == (2, d_mm, 16)
    for g in ("market_maker", "arbitrageur"):
        assert np.isfinite(np.asarray(result.metrics[g]["value_loss"])).all()
    # one metric schema for all groups: another encoding's action shares are NaN
    mm, arb = result.metrics["market_maker"], result.metrics["arbitrageur"]
    assert set(mm) == set(arb)
    assert np.isnan(np.asarray(mm["action3_1"])).all()  # the limit encoding's cancel flag
    assert np.isfinite(np.asarray(arb["action3_1"])).all()
    np.testing.assert_allclose(sum(np.asarray(mm[f"action2_{v}"]) for v in range(3)), 1.0,
                               rtol=1e-6)
    assert "opp0_momentum_trader" not in params  # frozen: never trained
    # the opponent acts with the checkpoint's seed-0 policy
    opp = trainer.opponents[0]
    assert_trees_equal(opp.params, jax.tree.map(lambda x: x[0], out.runner.params)[
        "momentum_trader"])
    # a checkpoint trained against opponents restores with them (read by restore) and
    # loads as opponents itself: its learners only, the nested opponent stays behind
    checkpoint.save(tmp_path / "vs", cfg, jax.tree.map(lambda x: x[None], result.runner))
    _, restored, runner = checkpoint.restore(tmp_path / "vs")
    assert restored.opponent_names == ["opp0_momentum_trader"]
    assert_trees_equal(restored.opponents[0].params, opp.params)
    assert_trees_equal(runner.params, jax.tree.map(lambda x: x[None], params))
    nested = checkpoint.load_opponents([tmp_path / "vs"])
    assert [o.group.name for o in nested] == ["opp0_market_maker", "opp0_arbitrageur"]
    assert [o.shared for o in nested] == [False, False]
    assert nested[0].network == trainer.networks["market_maker"]
    assert_trees_equal(nested[1].params, params["arbitrageur"])


def test_progress_callback_runs_once_per_update_and_seed(trained):
    _, trainer, out = trained
    assert sorted(u for u, _ in trainer.calls) == [1, 1, 2, 2, 3, 3]
    entropies = sorted(e for _, e in trainer.calls)
    np.testing.assert_allclose(entropies, np.sort(np.asarray(
        out.metrics["momentum_trader"]["entropy"]).ravel()), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"agent_types": ("banker",)}, "agent_types"),
    ({"agent_types": ()}, "agent_types"),
    ({"algorithm": "sac"}, "algorithm"),
    ({"n_envs": 0}, "n_envs"),
    ({"n_minibatches": 3}, "n_minibatches"),
    ({"lr": 0.0}, "lr"),
    ({"gamma": 1.5}, "gamma"),
    ({"hidden": (0,)}, "hidden"),
    ({"share_params": 1}, "share_params"),
    ({"seeds": True}, "seeds"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


@pytest.mark.parametrize("data, match", [
    ({"market": {"clearing": "dark_pool"}}, r"TrainConfig\.market\.clearing must be one of"),
    ({"market.n_assets": 0}, r"TrainConfig\.market\.n_assets must be an int in \[1, 256\]"),
    ({"market": {"reactive": [["banker", 2]]}}, r"TrainConfig\.market\.reactive\[0\]"),
    ({"market": {"depth": 5}}, r"unknown TrainConfig key\(s\) \['market\.depth'\]"),
    ({"n_assets": 2}, r"\['n_assets'\] \(market settings go under 'market', "
                      r"e\.g\. market\.n_assets\)"),
    ({"market": "cda"}, r"TrainConfig\.market must be a MarketConfig"),
])
def test_config_market_is_validated_by_market_config(data, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig.from_dict(data)


def test_config_market_defaults_dotted_keys_and_preset_merge():
    assert TrainConfig().market == train_market()
    assert (train_market().clearing, train_market().n_assets, train_market().episode_length,
            train_market().background_orders) == ("auction", 1, 200, 32)
    c = TrainConfig.from_dict({"market.episode_length": 64, "market": {"n_assets": 3}})
    assert (c.market.episode_length, c.market.n_assets, c.market.background_orders) == (64, 3, 32)
    smoke = TrainConfig.from_dict({**PRESETS["smoke"], "market": {"clearing": "cda"}})
    assert (smoke.market.clearing, smoke.market.episode_length) == ("cda", 64)
    assert TrainConfig.from_dict(smoke.to_dict()) == smoke
    assert tiny(agent_types=("arbitrageur",)).env_market().n_assets == 2


def test_config_yaml_round_trip_and_unknown_keys(tmp_path):
    config = tiny(agent_types=("market_maker", "momentum_trader"), algorithm="mappo")
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    assert TrainConfig.from_yaml(path) == config
    with pytest.raises(ValueError, match=r"unknown TrainConfig key\(s\) \['learning_rate'\]"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    path.write_text("- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_yaml(path)
    assert dataclasses.replace(config, iterations=5).iterations == 5

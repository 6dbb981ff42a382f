"""The three experiments end to end on miniature configs, through ``runner.main``.

All three share one tiny market (CDA, 2 assets, 2 RL market makers, 40 steps, 3
seeds, 2 evaluation episodes), so the compiled training, evaluation and control
programs are built once (``experiments.training``/``control`` cache them per config) and the
whole file stays well under a minute of compile time on 2 CPU cores.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml

from experiments import (
    compare,
    evaluation,
    herding,
    liquidity,
    settings,
    training,
    volatility,
)
from experiments.config import load_config
from experiments.evaluation import ARMS
from experiments.report import validate_report
from experiments.runner import main, seed_keys
from quantmarl.io import RunStore
from quantmarl.rl.evaluate import make_episodes
from tests.experiments.dummy import SPEC as DummySPEC

N_SEEDS = 3
TINY = {
    "seeds": N_SEEDS,
    "eval_episodes": 2,
    "learners": 2,
    "market": {"n_assets": 2, "clearing": "cda", "episode_length": 40, "background_orders": 8,
               "reactive": [["market_maker", 1], ["noise", 4]]},
    "ppo": {"n_envs": 4, "n_steps": 8, "iterations": 1, "update_epochs": 1, "n_minibatches": 1,
            "hidden": [8]},
}
CONFIGS = {
    "herding": (herding.SPEC, {**TINY, "agent_type": "market_maker", "min_traders": 1,
                               "stress": {"start": 20, "window": 10}}, 4),
    "volatility": (volatility.SPEC, {**TINY, "agent_type": "market_maker", "start": 20,
                                     "before": 10, "after": 10, "recovery": {"pre_window": 5},
                                     "scenarios": [
                                         {"kind": "flash_crash", "magnitude": 0.1,
                                          "duration": 3},
                                         {"kind": "volatility_spike", "magnitude": 2.0,
                                          "duration": 5},
                                         {"kind": "liquidity_shock", "magnitude": 1.5,
                                          "duration": 5},
                                         {"kind": "sell_program", "magnitude": 50.0,
                                          "duration": 5}]}, range(10, 15)),
    "liquidity": (liquidity.SPEC, {**TINY, "shock": {"start": 15, "duration": 8}, "after": 10,
                                   "resilience": {"pre_window": 10}}, 5),
}


def _run(name: str, tmp_path: Path, capsys, out: str = "out",
         extra: tuple[str, ...] = ()) -> tuple[Path, dict]:
    spec, cfg, _ = CONFIGS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(spec, ["--config", str(path), "--out", str(tmp_path / out), *extra]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    md = Path(lines[-1])
    assert md == tmp_path / out / "report.md" and md.is_file()
    return md, json.loads((md.parent / "report.json").read_text())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_miniature_run_writes_a_valid_report(name, tmp_path, capsys):
    md, report = _run(name, tmp_path, capsys, extra=("--record", str(tmp_path / "runs.db")))
    validate_report(report)
    assert report["experiment"] == name and report["n_seeds"] == N_SEEDS
    expected = CONFIGS[name][2]
    assert len(report["findings"]) in (expected if isinstance(expected, range) else [expected])
    for f in report["findings"]:
        for key in ("effect_size", "ci_low", "ci_high", "p_value", "p_adjusted"):
            assert math.isfinite(f[key]), (f["metric"], key)
        assert f["correction"].startswith("holm")
        # NaN metrics drop seeds, and the finding says so
        assert 0 <= f["n_seeds"] <= N_SEEDS
        if f["n_seeds"] < N_SEEDS:
            assert "dropped" in f["note"] or "fewer than 2" in f["note"]
    for fname in report["files"]:
        assert (md.parent / fname).is_file()
    assert sum(f.endswith(".png") for f in report["files"]) >= 2
    with open(md.parent / "per_seed.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N_SEEDS
    assert "## Findings" in md.read_text()
    assert "## Limitations" in md.read_text() and "Training verdict" in md.read_text()
    _check_recorded(tmp_path / "runs.db", name, CONFIGS[name][1])


def _check_recorded(db: Path, name: str, cfg: dict) -> None:
    """``--record``: every arm, seed and episode of each condition is in the store, and
    the arms of one seed and episode share the market's fundamental path."""
    with RunStore(db) as store:
        sims = store.simulations()
        assert sims and all(s["id"].startswith(f"{name}/out/c") for s in sims)
        arms = {s["config"]["arm"] for s in sims}
        assert arms == set(ARMS)
        assert {s["config"]["seed"] for s in sims} == set(range(N_SEEDS))
        first = [s["id"] for s in sims if s["config"]["run"].endswith("/c0")
                 and s["config"]["seed"] == 0 and s["config"]["episode"] == 0]
        paths = [store.read_steps(i)["fundamental"] for i in first]
    assert len(paths) == len(ARMS) and len(paths[0]) > 0
    for other in paths[1:]:
        np.testing.assert_array_equal(other, paths[0])


def test_same_seed_same_numbers(tmp_path, capsys):
    _, r1 = _run("herding", tmp_path, capsys, "a")
    _, r2 = _run("herding", tmp_path, capsys, "b")
    assert r1["findings"] == r2["findings"]
    assert (tmp_path / "a" / "per_seed.csv").read_text() == (
        tmp_path / "b" / "per_seed.csv").read_text()


@pytest.mark.parametrize(("spec", "text", "message"), [
    (herding.SPEC, "stress:\n  windw: 3\n", "unknown config key 'stress.windw'"),
    (herding.SPEC, "stress:\n  start: 190\n", "stress.start + stress.window"),
    (volatility.SPEC, "ppo:\n  n_minibatches: 3\n", "ppo.n_minibatches"),
    (volatility.SPEC, "scenarios:\n  - {kind: meteor, magnitude: 2.0}\n", "scenarios[0].kind"),
    (liquidity.SPEC, "market:\n  clearing: auction\n", "market.clearing must be 'cda'"),
    (liquidity.SPEC, "shock:\n  magnitude: 0.5\n", "shock.magnitude"),
    (liquidity.SPEC, "market_params:\n- [background.nope, 1.0]\n", "market_params"),
    (liquidity.SPEC, "market_params:\n- [fee_bps, -3]\n", "market_params"),
    (herding.SPEC, "sweep:\n  doses: [0.1, 1.5]\n", "stress.magnitude"),
    (volatility.SPEC, "sweep:\n  variants: [bogus]\n", "sweep.variants"),
    (volatility.SPEC, "scenarios:\n  - {kind: sell_program, magnitude: 2.5}\n",
     "scenarios[] (sell_program): sell_program: lots (lots sold at market per step) must "
     "be a whole number"),
])
def test_config_errors_exit_2(spec, text, message, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(spec, ["--config", str(bad), "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_paired_finding_drops_nan_seeds():
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([0.5, 1.0, 1.0, np.inf, 2.0])
    f = compare.paired_finding(a, b, "h", "m")
    assert f.n_seeds == 3 and "[2, 3]" in f.note and math.isfinite(f.p_value)
    g = compare.paired_finding([np.nan, 1.0, np.nan], [1.0, 2.0, 3.0], "h", "m")
    assert g.n_seeds == 1 and g.p_value == 1.0 and g.effect_size == 0.0
    assert g.verdict == "fail to reject H0" and g.test.startswith("not run")


def test_arms_share_random_numbers_and_match_each_policy_run_alone():
    """Every arm plays the same episodes (same keys: the same fundamental path and the
    same draws for everyone outside the slots), and an arm inside the vmapped comparison
    is exactly that policy run alone."""
    cfg = load_config(herding.HerdingConfig, overrides=CONFIGS["herding"][1])
    tc = settings.train_config(cfg.ppo, cfg.market, cfg.agent_type, cfg.learners)
    trainer = training.make_seed_trainer(tc)
    k_train, k_eval = training.split_keys(seed_keys(0, N_SEEDS))
    out = training.train_seeds(trainer, k_train)
    params = trainer.env_params.market
    wealth, rec = evaluation.evaluate_arms(trainer, out.runner.params, k_eval, params, 2)
    arms = evaluation.ARMS
    assert np.asarray(wealth).shape[:3] == (len(arms), N_SEEDS, 2)
    fundamental = np.asarray(rec.fundamental)
    for i in range(1, len(arms)):
        np.testing.assert_array_equal(fundamental[i], fundamental[0])
    qty = np.asarray(rec.agent_qty)  # [P, S, E, T, n_accounts, A]
    assert not qty[arms.index("hold"), ..., :cfg.learners, :].any()  # empty slots
    assert qty[arms.index("random"), ..., :cfg.learners, :].any()
    alone = make_episodes(trainer, 2, "random", records=True)
    seed0 = jax.tree.map(lambda x: x[0], out.runner.params)
    _, rec0 = alone(k_eval[0], seed0, trainer.env_params.replace(market=params))
    i = arms.index("random")
    np.testing.assert_array_equal(np.asarray(rec0.close), np.asarray(rec.close)[i, 0])
    np.testing.assert_array_equal(np.asarray(rec0.agent_qty), qty[i, 0])
    # conditions vmapped in batches (a short last batch padded) equal each run alone
    crash = evaluation.stressed(params, trainer.env.config.market,
                                [evaluation.EVENTS["flash_crash"](0.1, 5, 20)])
    conditions = [crash, evaluation.stressed(params, trainer.env.config.market), crash]
    alone = [evaluation.evaluate_arms(trainer, out.runner.params, k_eval, c, 2)
             for c in conditions]
    batched = list(evaluation.evaluate_conditions(trainer, out.runner.params, k_eval,
                                                  conditions, 2, batch=2))
    assert len(batched) == 3
    for (w1, r1), (w2, r2) in zip(alone, batched, strict=True):
        np.testing.assert_array_equal(np.asarray(w1), np.asarray(w2))
        np.testing.assert_array_equal(np.asarray(r1.close), np.asarray(r2.close))
    assert not np.array_equal(np.asarray(alone[0][1].close), np.asarray(alone[1][1].close))


def test_placebo_rejects_nothing(tmp_path, capsys):
    """A/A: every compared arm is the random policy on its own action draws (so the
    arms differ, but every null is true); over 12 seeds no hypothesis is rejected."""
    spec, cfg, _ = CONFIGS["herding"]
    path = tmp_path / "placebo.yaml"
    path.write_text(yaml.safe_dump({**cfg, "seeds": 12, "eval_episodes": 1}))
    assert main(spec, ["--config", str(path), "--out", str(tmp_path / "p"), "--placebo"]) == 0
    report = json.loads((tmp_path / "p" / "report.json").read_text())
    assert report["config"]["placebo"] is True and "Placebo (A/A) run" in report["notes"]
    assert [f["verdict"] for f in report["findings"]] == ["fail to reject H0"] * 4
    with open(tmp_path / "p" / "per_seed.csv") as fh:
        rows = list(csv.DictReader(fh))
    greedy = [float(r["activity_greedy"]) for r in rows]
    scripted = [float(r["activity_scripted"]) for r in rows]
    assert greedy != scripted  # independent action draws, not a copy of one arm
    with pytest.raises(SystemExit) as exc:
        main(DummySPEC, ["--placebo", "--out", str(tmp_path / "v")])
    assert exc.value.code == 2 and "--placebo" in capsys.readouterr().err


def test_directions_are_declared_in_the_config(tmp_path, capsys):
    spec, cfg, _ = CONFIGS["herding"]
    path = tmp_path / "dir.yaml"
    path.write_text(yaml.safe_dump({**cfg, "directions": {"stress_vs_calm": "less"}}))
    assert main(spec, ["--config", str(path), "--out", str(tmp_path / "d")]) == 0
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert report["config"]["directions"]["stress_vs_calm"] == "less"
    assert [f["alternative"] for f in report["findings"]] == [
        "two-sided", "two-sided", "less", "two-sided"]
    assert "herd less in the stress window" in report["findings"][2]["hypothesis"]
    assert "directions:" in (tmp_path / "d" / "config.yaml").read_text()


def test_sweep_doses_from_one_training(tmp_path, capsys):
    """``--sweep`` over stress sizes only (vmapped in batches, the last one padded): at the
    config's own shock size the dose row is the experiment's own result. The retraining
    factors are in the slow test below."""
    spec, cfg, n_tests = CONFIGS["liquidity"]
    own = liquidity.LiquidityConfig().shock.magnitude
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**cfg, "sweep": {
        "doses": [1.5, 6.0, own], "batch": 2, "learners": [], "budgets": [],
        "variants": []}}))
    assert main(spec, ["--config", str(path), "--out", str(tmp_path / "s"), "--sweep"]) == 0
    md = Path(capsys.readouterr().out.strip().splitlines()[-1])
    report = json.loads((md.parent / "report.json").read_text())
    validate_report(report)
    with open(md.parent / "dose_response.csv") as fh:
        doses = list(csv.DictReader(fh))
    assert len(doses) == 3 * n_tests
    base = {f["metric"]: f for f in report["findings"]}
    own_rows = [r for r in doses if float(r["value"]) == own]
    assert len(own_rows) == n_tests
    for row in own_rows:
        assert float(row["effect"]) == pytest.approx(base[row["metric"]]["effect_size"],
                                                     rel=1e-12, abs=1e-15)
    assert "dose_response.png" in report["files"]


@pytest.mark.slow
def test_sweep_reports_dose_response_and_sensitivity(tmp_path, capsys):
    """``--sweep``: the tests at every dose from one training (the doses vmapped in
    batches), retrained with other learner counts and budgets, the verdicts in a changed
    market; at the config's own shock size the dose row is the experiment's own result."""
    spec, cfg, n_tests = CONFIGS["liquidity"]
    own = liquidity.LiquidityConfig().shock.magnitude
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**cfg, "sweep": {
        "doses": [1.5, 6.0, own], "batch": 2, "learners": [1], "budgets": [2.0],
        "variants": ["fees"]}}))
    assert main(spec, ["--config", str(path), "--out", str(tmp_path / "s"), "--sweep"]) == 0
    md = Path(capsys.readouterr().out.strip().splitlines()[-1])
    report = json.loads((md.parent / "report.json").read_text())
    validate_report(report)
    assert report["experiment"] == "liquidity-sweep" and len(report["findings"]) == n_tests
    tables = {}
    for name in ("dose_response", "learners", "budget", "sensitivity"):
        with open(md.parent / f"{name}.csv") as fh:
            tables[name] = list(csv.DictReader(fh))
    assert len(tables["dose_response"]) == 3 * n_tests
    base = {f["metric"]: f for f in report["findings"]}
    for row in tables["dose_response"]:
        if float(row["value"]) == own:
            assert float(row["effect"]) == pytest.approx(base[row["metric"]]["effect_size"],
                                                         rel=1e-12, abs=1e-15)
    iterations = cfg["ppo"]["iterations"]
    assert {float(r["value"]) for r in tables["learners"]} == {1.0, cfg["learners"]}
    assert {float(r["value"]) for r in tables["budget"]} == {iterations, 2 * iterations}
    for name, own_value in (("learners", cfg["learners"]), ("budget", iterations)):
        rows = [r for r in tables[name] if float(r["value"]) == own_value]  # the base run
        assert [float(r["effect"]) for r in rows] == pytest.approx(
            [base[r["metric"]]["effect_size"] for r in rows], rel=1e-12, abs=1e-15)
        assert len(rows) == n_tests and {r["trained"] for r in tables[name]} <= {
            "True", "False"}
    assert len(tables["sensitivity"]) == n_tests and {
        r["variant"] for r in tables["sensitivity"]} == {"fees 5 bps taker, 2 bps maker"}
    text = md.read_text()
    assert "survive" in text and "learners trained" in text
    assert "## Per-seed metrics" not in text  # the sweep has none: no empty table
    assert {"dose_response.png", "learners.png", "budget.png"} <= set(report["files"])
    changed = yaml.safe_load((md.parent / "config.yaml").read_text())
    assert changed["sweep"]["variants"] == ["fees"]


def test_market_params_reach_training_and_evaluation():
    cfg = load_config(liquidity.LiquidityConfig, overrides={
        **CONFIGS["liquidity"][1], "market_params": [["fee_bps", 7], ["background.value_pull",
                                                                       0.05]]})
    tc = settings.train_config(cfg.ppo, cfg.market, "market_maker", cfg.learners)
    trainer = training.make_seed_trainer(tc, cfg.market_params)
    market = trainer.env_params.market
    assert int(market.fee_bps) == 7 and float(market.background.value_pull) == 0.05
    assert int(training.make_seed_trainer(tc).env_params.market.fee_bps) == 1

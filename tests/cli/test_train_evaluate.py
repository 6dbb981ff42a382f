"""``python -m quantmarl.train`` and ``python -m quantmarl.evaluate`` end to end (tiny runs)."""

from __future__ import annotations

import json

import jax
import pytest
import yaml

from quantmarl.cli import evaluate as evaluate_cli
from quantmarl.cli import train as train_cli
from quantmarl.io import RunStore
from quantmarl.rl import checkpoint, make_trainer, seed_keys

TINY = {"n_envs": 4, "n_steps": 8, "iterations": 2, "update_epochs": 1, "n_minibatches": 1,
        "hidden": [8], "market": {"episode_length": 8, "background_orders": 4,
                                  "reactive": [["market_maker", 2], ["noise", 4]]}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return d


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_then_resume_then_evaluate(run_dir, capsys):
    ck = run_dir / "ck"
    args = ["--config", str(run_dir / "tiny.yaml"), "--agent-type", "market_maker",
            "--seeds", "2", "--checkpoint-dir", str(ck), "--no-progress"]
    db = run_dir / "runs.sqlite"
    assert train_cli.main(args + ["--iterations", "1", "--record", str(db),
                                  "--record-episodes", "2"]) == 0
    first = last_json(capsys)
    assert first["iterations"] == 1 and first["seeds"] == 2 and first["recorded"] == 4
    assert first["env_steps"] == 1 * 4 * 8 * 2
    for f in ("config.yaml", "state.msgpack", "meta.json", "metrics.csv", "metrics.json",
              "learning_curve.png"):
        assert (ck / f).exists(), f
    # resuming a finished run is an error, not a silent no-op
    assert train_cli.main(args + ["--resume"]) == 2
    assert "nothing to do" in capsys.readouterr().err

    assert evaluate_cli.main(["--checkpoint", str(ck), "--episodes", "3", "--baseline",
                              "--render", "ansi", "--record", str(db)]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    with RunStore(db) as store:  # 2 seeds x 2 training episodes, 3 evaluation episodes
        ids = [s["id"] for s in store.simulations()]
        length = len(store.read_steps(ids[-1])["close"])
    assert ids == [f"train/ck/s{s}/e{e}" for s in (0, 1) for e in (0, 1)] + [
        f"evaluate/ck/sample/s0/e{e}" for e in range(3)]
    assert length == yaml.safe_load((run_dir / "tiny.yaml").read_text())["market"][
        "episode_length"]
    assert "quantmarl market" in out  # the ansi frame
    stats = result["agents"]["market_maker_0"]
    for name in ("pnl", "sharpe", "max_drawdown", "win_rate"):
        lo, hi = stats[name]["ci95"]
        assert lo is None or lo <= stats[name]["mean"] <= hi
    table = result["baselines"]["market_maker"]
    assert set(table["policies"]) == {"greedy", "sample", "random", "hold", "scripted"}
    assert table["policies"]["greedy"]["pnl"]["over"] == "seeds"  # 2 seeds, none chosen
    assert table["policies"]["greedy"]["pnl"]["n"] == 2
    lo, hi = table["policies"]["random"]["pnl"]["ci95"]  # each seed has its own episodes
    assert lo < hi
    assert isinstance(table["trained"], bool)
    assert ("verdict: market_maker is TRAINED" in out) == table["trained"]
    assert table["trained"] or table["reasons"]


def test_training_stops_early_when_the_return_stops_improving(run_dir, capsys):
    ck = run_dir / "stop"
    cfg = run_dir / "stop.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "stop_window": 1, "stop_tol": 1e9}))
    args = ["--config", str(cfg), "--iterations", "5", "--stop-patience", "1",
            "--checkpoint-dir", str(ck), "--no-progress"]
    assert train_cli.main(args) == 0
    out = last_json(capsys)  # update 1 sets the best, update 2 cannot beat it by 1e9
    assert out["stopped_at"] == 2 and out["iterations"] == 2
    curve = out["curve"]["momentum_trader"]
    assert curve["stopped_at"] == 2 and curve["updates"] == 2 and curve["window"] == 1
    assert checkpoint.load_meta(ck)["update"] == 2
    assert train_cli.main(args + ["--resume"]) == 2
    assert "stopped early at update 2" in capsys.readouterr().err


def test_interrupted_run_resumes_exactly(run_dir, capsys):
    """A run stopped after 1 of 3 updates, resumed by the CLI, ends bit for bit where an
    uninterrupted run ends."""
    straight, part = run_dir / "straight", run_dir / "part"
    base = ["--config", str(run_dir / "tiny.yaml"), "--no-progress", "--iterations", "3",
            "--checkpoint-every", "1"]
    assert train_cli.main(base + ["--checkpoint-dir", str(straight)]) == 0
    assert last_json(capsys)["iterations"] == 3
    config = checkpoint.load_config(straight)
    trainer = make_trainer(config)
    runner = jax.jit(jax.vmap(trainer.init))(seed_keys(config))
    runner, _ = jax.jit(jax.vmap(lambda r: trainer.run(r, 1)))(runner)
    checkpoint.save(part, config, runner)  # as if the process died after update 1
    assert train_cli.main(["--resume", "--no-progress", "--checkpoint-every", "1",
                           "--checkpoint-dir", str(part)]) == 0
    assert last_json(capsys)["iterations"] == 3
    assert (part / "state.msgpack").read_bytes() == (straight / "state.msgpack").read_bytes()
    assert checkpoint.load_meta(part)["update"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--iterations", "0"], "iterations"),
    (["--checkpoint-every", "-1"], "checkpoint-every"),
])
def test_train_cli_errors(argv, message, capsys, tmp_path):
    assert train_cli.main(argv + ["--checkpoint-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_cli_missing_checkpoint(tmp_path, capsys):
    assert evaluate_cli.main(["--checkpoint", str(tmp_path / "nope")]) == 2
    assert "not a checkpoint" in capsys.readouterr().err

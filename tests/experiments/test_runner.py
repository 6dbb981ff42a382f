"""The CLI driver end to end on a dummy experiment: files, schema, reproducibility."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.compare import paired_comparison
from experiments.config import load_config
from experiments.report import REPORT_SCHEMA, validate_report, write_report
from experiments.runner import main, make_out_dir, seed_keys
from tests.experiments.dummy import SPEC, DummyConfig


def _run(capsys, argv) -> tuple[Path, dict]:
    assert main(SPEC, argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    md = Path(out[-1])
    return md, json.loads((md.parent / "report.json").read_text())


def test_main_writes_a_valid_report(tmp_path, capsys):
    md, report = _run(capsys, ["--quick", "--seeds", "5", "--out", str(tmp_path / "r")])
    assert md == tmp_path / "r" / "report.md" and md.is_file()
    validate_report(report)
    assert set(REPORT_SCHEMA) <= set(report)
    assert report["experiment"] == "dummy" and report["n_seeds"] == 5
    assert len(report["findings"]) == 2 and report["alpha"] == 0.05
    assert {"config.yaml", "per_seed.csv", "scatter.png", "summary.csv", "report.md",
            "report.json"} <= set(report["files"])
    for name in report["files"]:
        assert (md.parent / name).is_file()
    with open(md.parent / "per_seed.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and list(rows[0]) == ["seed", "base", "treated"]
    cfg = load_config(DummyConfig, md.parent / "config.yaml")
    assert cfg == load_config(DummyConfig, quick=True, overrides={"seeds": 5})
    assert report["config"]["market"]["n_assets"] == 1
    text = md.read_text()
    assert "| hypothesis | metric | effect | 95% CI | p | test | n | verdict |" in text
    assert "![treated vs base](scatter.png)" in text and "```yaml" in text
    assert "Quick run" in text


def test_same_inputs_same_numbers(tmp_path, capsys):
    _, r1 = _run(capsys, ["--quick", "--out", str(tmp_path / "a")])
    _, r2 = _run(capsys, ["--quick", "--out", str(tmp_path / "b")])
    assert r1["findings"] == r2["findings"]
    assert (tmp_path / "a" / "per_seed.csv").read_text() == (
        tmp_path / "b" / "per_seed.csv").read_text()


def test_config_errors_exit_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("market:\n  foo: 1\n")
    for argv in (["--config", str(bad)], ["--seeds", "1"]):
        with pytest.raises(SystemExit) as exc:
            main(SPEC, [*argv, "--out", str(tmp_path / "x")])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_validate_report_catches_problems(tmp_path, capsys):
    _, report = _run(capsys, ["--quick", "--out", str(tmp_path / "r")])
    broken = {**report, "n_seeds": "5"}
    del broken["versions"]
    f = {**report["findings"][0], "verdict": "reject H0", "p_adjusted": 0.9, "p_value": 1.5}
    broken["findings"] = [f]
    with pytest.raises(ValueError) as err:
        validate_report(broken)
    msg = str(err.value)
    assert "n_seeds" in msg and "'versions'" in msg and "verdict" in msg and "p_value" in msg


def test_make_out_dir_default_and_suffix(tmp_path):
    a = make_out_dir("exp", root=tmp_path)
    b = make_out_dir("exp", root=tmp_path)
    assert a.parent == b.parent == tmp_path / "exp" and a != b and a.is_dir() and b.is_dir()
    assert len(a.name) == len("20250101-120000")
    assert make_out_dir("exp", tmp_path / "given") == tmp_path / "given"


def test_seed_keys():
    k = seed_keys(3, 4)
    assert k.shape == (4,)
    assert np.array_equal(jax.random.key_data(k), jax.random.key_data(seed_keys(3, 4)))
    assert not np.array_equal(jax.random.key_data(k), jax.random.key_data(seed_keys(4, 4)))


def test_phases_time_each_block_and_sum_repeats(monkeypatch):
    from experiments.runner import format_timings, phases

    clock = iter([0.0, 1.5, 2.0, 2.25, 10.0, 10.5])
    monkeypatch.setattr("experiments.runner.time.perf_counter", lambda: next(clock))
    with phases(3, "test") as phase:
        with phase("train"):
            pass
        for label in ("a", "b"):
            with phase(f"evaluate {label}", "evaluate"):
                pass
        assert phase.bar.n == 3
    assert phase.seconds == {"train": 1.5, "evaluate": 0.75}
    assert format_timings(phase.seconds) == "Timings (s): train 1.5, evaluate 0.8."


def test_findings_table_from_a_report(tmp_path, capsys):
    from experiments.report import findings_table

    _, report = _run(capsys, ["--quick", "--seeds", "5", "--out", str(tmp_path / "r")])
    table = findings_table(report)
    lines = table.splitlines()
    assert lines[0].startswith(f"{report['title']}: 5 seeds")
    assert lines[2].startswith("| metric (a - b) | effect | 95% CI | d | p (Holm) | n | verdict |")
    assert len(lines) == 4 + len(report["findings"])


def test_report_states_the_effect_against_the_control_level_and_limitations(tmp_path):
    f = paired_comparison(np.array([2.5, 2.4, 2.6]), np.array([2.0, 1.9, 2.1]), "h", "m",
                          test="t")
    md = write_report(tmp_path, "x", "X", [f], {"a": np.ones(3)},
                      limitations="- one asset only")
    text = md.read_text()
    assert "+25.0% of b's level" in text  # effect 0.5 on a control mean of 2.0
    assert "## Limitations\n\n- one asset only" in text

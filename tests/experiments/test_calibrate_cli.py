"""python -m experiments.calibrate: errors before compiling, and a tiny run writing every
output (a few candidates of a small market, one round)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from experiments.calibrate import main
from experiments.calibration.output import FIGURES
from quantmarl.market import MarketConfig
from quantmarl.market.params_io import load_params_yaml
from quantmarl.quant.stylized import MOMENTS

TINY = """
market: {reactive: [[noise, 4], [market_maker, 2]], background_orders: 8}
fields:
  - {path: background.excitation, lo: 0, hi: 100}
  - {path: background.drift_sigma, lo: 0.0001, hi: 0.01, scale: log}
seeds: 2
steps: 201
burn_in: 10
batch: 4
initial_batches: 1
rounds: 1
report_seeds: 2
verify: 2
verify_modes: [auction]
verify_seeds: 2
verify_steps: 200
verify_burn_in: 10
"""


def _target(tmp_path):
    px = 100 * np.exp(np.cumsum(np.random.default_rng(0).standard_t(4, 300) * 0.01))
    path = tmp_path / "target.csv"
    path.write_text("close,volume\n" + "".join(f"{float(p)!r},{i % 7}\n"
                                                for i, p in enumerate(px)))
    return path


@pytest.mark.parametrize("text, match", [
    ("fields:\n  - {path: background.nope, lo: 0, hi: 1}\n", "fields 'background.nope'"),
    ("fields:\n  - {path: background.decay, lo: 0.5, hi: 2}\n", "bound hi=2.0"),
    ("steps: 50\n", "steps must be in"),
    ("target: /no/such.csv\n", "does not exist"),
    ("moments: [nope]\n", "moments must name some of kurtosis_1"),
    ("verify_modes: [batch]\n", "verify_modes must name 'auction' and/or 'cda'"),
    ("penalty: -1\n", "penalty must be in"),
])
def test_bad_config_exits_2_before_compiling(tmp_path, capsys, text, match):
    (tmp_path / "c.yaml").write_text(text)
    code = main(["--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and match in err
    assert not (tmp_path / "out").exists()


def test_check_runs_the_facts_check(monkeypatch):
    from experiments import calibrate, realism

    seen = []
    monkeypatch.setattr(realism, "main", lambda argv: seen.append(argv) or 1)
    assert calibrate.main(["--check", "--quick"]) == 1
    assert seen == [["--quick"]]


def test_tiny_run_writes_every_output(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(TINY)
    out = tmp_path / "out"
    code = main(["--config", str(tmp_path / "c.yaml"), "--target", str(_target(tmp_path)),
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "round 0/1" in text and "round 1/1" in text
    assert text.strip().splitlines()[-1] == str(out / "report.md")
    for name in ("params.yaml", "moments.csv", "history.csv", "report.md", "config.yaml",
                 *FIGURES):
        assert (out / name).stat().st_size > 0, name
    config = MarketConfig(reactive=(("noise", 4), ("market_maker", 2)), background_orders=8)
    params = load_params_yaml(out / "params.yaml", config)
    assert 0.0 <= float(params.background.excitation) <= 100.0
    with (out / "moments.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["moment"] for r in rows] == [n for n, _ in MOMENTS]
    assert all(float(r["sim_p05"]) <= float(r["sim_median"]) <= float(r["sim_p95"])
               for r in rows if r["moment"] != "volume_corr" or r["sim_median"] != "nan")
    with (out / "history.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 8  # design 4 + one round of 4
    report = (out / "report.md").read_text()
    assert "| moment | real |" in report
    assert "verified search row" in text
    assert "on 2 seeds x 200 steps: " in text
    chosen = [line for line in report.splitlines()
              if re.fullmatch(r"\| \d+ \| \S+ \| .+ \| yes \|", line)]
    assert len(chosen) == 1 and "| fact | auction | auction/no-jumps |" in report


def test_bad_target_csv_exits_2_before_writing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("close\n" + "1\n" * 150 + "0\n")
    code = main(["--target", str(bad), "--out", str(tmp_path / "out")])
    assert code == 2 and "close must be positive and finite, row 150" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

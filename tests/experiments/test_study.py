"""Study-wide Holm correction over the experiments' reports (hand-computed)."""

from __future__ import annotations

import json

import pytest

from experiments import study


def _report(name, ps, alpha=0.05):
    return {"experiment": name, "findings": [
        {"hypothesis": f"{name} h{i}", "metric": "m", "effect_size": 1.0, "ci_low": 0.0,
         "ci_high": 2.0, "p_value": p, "p_adjusted": p, "alpha": alpha, "test": "t"}
        for i, p in enumerate(ps)]}


def test_holm_runs_over_the_whole_study():
    rows = study.combine({"herding": _report("herding", [0.01, 0.04]),
                          "volatility": _report("volatility", [0.03])})
    # sorted: .01 * 3 = .03; .03 * 2 = .06; .04 * 1 -> running max .06
    assert [r["p_study"] for r in rows] == pytest.approx([0.03, 0.06, 0.06])
    assert [r["verdict_study"] for r in rows] == ["reject H0", "fail to reject H0",
                                                  "fail to reject H0"]
    assert rows[1]["p_experiment"] == 0.04  # the within-experiment value is kept
    assert "all 3 tests" in study.study_table(rows)


def test_cli_combines_existing_reports(tmp_path, capsys):
    for name, ps in (("herding", [0.001]), ("liquidity", [0.2, 0.002])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(_report(name, ps)))
    out = tmp_path / "out"
    assert study.main(["--reports", str(tmp_path / "herding"), str(tmp_path / "liquidity"),
                       "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("study.md")
    rows = json.loads((out / "study.json").read_text())["findings"]
    assert [r["p_study"] for r in rows] == pytest.approx([0.003, 0.2, 0.004])
    assert study.main(["--reports", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert study.main(["--reports", str(tmp_path / "herding"), str(tmp_path / "herding"),
                       "--out", str(out)]) == 2
    assert "two runs of 'herding'" in capsys.readouterr().err

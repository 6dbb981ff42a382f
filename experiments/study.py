"""The whole study: every hypothesis of the three experiments under one Holm correction.

Each experiment corrects its own tests (Holm within the experiment). A reader who
takes the three reports together runs every test of the study, so the study-level
verdicts apply Holm across all of them: a finding counts at the study level only
when its raw p-value survives the correction over the whole family.

    python -m experiments.study [--quick] [--seeds N] [--out DIR]
    python -m experiments.study --reports results/herding/X results/volatility/Y ...

The first form runs ``herding``, ``volatility`` and ``liquidity`` into
``OUT/<name>/`` (each with its own report) and then combines them; the second
combines existing runs (directories holding ``report.json``). Writes
``OUT/study.json`` and ``OUT/study.md`` and prints the path of ``study.md`` last.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from experiments import herding, liquidity, volatility
from experiments.runner import main as run_experiment
from experiments.runner import make_out_dir
from quantmarl import runtime
from quantmarl.quant import stats

__all__ = ["EXPERIMENTS", "combine", "main", "study_table"]

EXPERIMENTS = ("herding", "volatility", "liquidity")


def combine(reports: Mapping[str, Mapping]) -> list[dict]:
    """One row per finding of every report (experiment name -> report.json content),
    with ``p_study``: Holm across all of them, and the study-level verdict at each
    finding's own alpha. Findings that could not be tested (no p) are kept, untested."""
    rows = [{"experiment": name, "hypothesis": f["hypothesis"], "metric": f["metric"],
             "effect_size": f["effect_size"], "ci_low": f["ci_low"], "ci_high": f["ci_high"],
             "p_value": f["p_value"], "p_experiment": f.get("p_adjusted"),
             "alpha": f["alpha"], "test": f["test"]}
            for name, report in reports.items() for f in report["findings"]]
    if not rows:
        return []
    _, adj = stats.holm(np.array([r["p_value"] for r in rows], np.float64))
    for r, p in zip(rows, np.asarray(adj, np.float64), strict=True):
        r["p_study"] = float(p)
        r["verdict_study"] = "reject H0" if p < r["alpha"] else "fail to reject H0"
    return rows


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def study_table(rows: Sequence[dict]) -> str:
    """Markdown table of :func:`combine`'s rows."""
    lines = [f"Holm correction over all {len(rows)} tests of the study.", "",
             "| experiment | hypothesis | effect [95% CI] | p | adj. p (experiment) | "
             "adj. p (study) | study verdict |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['experiment']} | {r['hypothesis']} | {_fmt(r['effect_size'])} "
            f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] | {_fmt(r['p_value'])} | "
            f"{_fmt(r['p_experiment'])} | {_fmt(r['p_study'])} | {r['verdict_study']} |")
    return "\n".join(lines)


def _run_all(out: Path, quick: bool, seeds: int | None) -> dict[str, Path]:
    specs = {"herding": herding.SPEC, "volatility": volatility.SPEC,
             "liquidity": liquidity.SPEC}
    for name in EXPERIMENTS:
        argv = ["--out", str(out / name)] + (["--quick"] if quick else [])
        argv += ["--seeds", str(seeds)] if seeds is not None else []
        run_experiment(specs[name], argv)
    return {name: out / name for name in EXPERIMENTS}


def _read_reports(dirs: Sequence[Path]) -> dict[str, dict]:
    reports: dict[str, dict] = {}
    for d in dirs:
        report = json.loads((d / "report.json").read_text())
        if report["experiment"] in reports:
            raise ValueError(f"--reports: two runs of {report['experiment']!r}")
        reports[report["experiment"]] = report
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="each experiment's --quick run")
    p.add_argument("--seeds", type=int, default=None, help="seeds per experiment")
    p.add_argument("--out", default=None, help="output directory")
    p.add_argument("--reports", nargs="+", metavar="DIR",
                   help="combine existing runs instead (directories with report.json)")
    args = p.parse_args(argv)
    runtime.configure()
    out = make_out_dir("study", args.out)
    if args.reports:
        dirs = [Path(d) for d in args.reports]
        missing = [str(d) for d in dirs if not (d / "report.json").is_file()]
        if missing:
            print(f"error: --reports: no report.json in {missing}", file=sys.stderr)
            return 2
    else:
        dirs = list(_run_all(out, args.quick, args.seeds).values())
    try:
        reports = _read_reports(dirs)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = combine(reports)
    (out / "study.json").write_text(json.dumps({"findings": rows}, indent=2) + "\n")
    md = out / "study.md"
    md.write_text("# The whole study\n\n" + study_table(rows) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

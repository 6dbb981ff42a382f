"""The calibration's outputs: ``params.yaml``, ``moments.csv``, ``history.csv``,
``report.md`` (the side-by-side table) and the figures, all in one directory."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from experiments.calibration.search import SearchResult
from quantmarl.market import MarketParams
from quantmarl.market.params_io import dump_params_yaml, get_field
from quantmarl.quant.facts_plots import comparison_figure
from quantmarl.quant.stylized import MomentRecord

__all__ = ["FIGURES", "write_all"]

#: figure file -> panels of :func:`quantmarl.quant.facts_plots.comparison_figure`
FIGURES = {"acf.png": ("acf", "acf_abs"), "qq.png": ("qq",), "kurtosis.png": ("kurtosis",)}


def _num(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.4g}"


def _moments_rows(calib, records, before) -> list[dict[str, Any]]:
    rows = []
    for i, (rec, old) in enumerate(zip(records, before, strict=True)):
        rows.append({"moment": rec.name, "meaning": rec.meaning, "real": rec.real,
                     "sim_median": rec.sim_median, "sim_p05": rec.sim_lo,
                     "sim_p95": rec.sim_hi, "default_median": old.sim_median,
                     "in_loss": bool(calib.mask[i]), "scale": float(calib.scale[i]),
                     "n_seeds": rec.n_seeds})
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _history_rows(calib, result: SearchResult, n_initial: int, batch: int):
    values = calib.space.values(result.units)
    rows = []
    for i, (row, loss) in enumerate(zip(values, result.losses, strict=True)):
        rnd = 0 if i < n_initial else 1 + (i - n_initial) // batch
        rows.append({"round": rnd, "loss": float(loss),
                     **{f.path: float(v) for f, v in zip(calib.space.fields, row, strict=True)}})
    return rows


def _verification(calib) -> list[str]:
    """Markdown lines: the realism check of the best candidates (none if not verified)."""
    if not calib.verdicts:
        return []
    labels = list(calib.verdicts[0].facts)
    lines = ["The best distinct candidates of the search, re-checked best first by the "
             "realism check (`python -m experiments.realism`, fresh seeds) in each clearing "
             "mode, with the fundamental's jumps on and off, until one passes every required "
             "fact; the fitted candidate is the one with the fewest failed required facts, "
             "then the lowest loss.", "",
             "| search row | loss | failed facts | chosen |", "| ---: | ---: | --- | :---: |"]
    for v in calib.verdicts:
        lines.append(f"| {v.index} | {v.loss:.4g} | {', '.join(v.failed) or 'none'} | "
                     f"{'yes' if v is calib.chosen else ''} |")
    names = [n for n in calib.chosen.facts[labels[0]] if n != "acf_band"]
    lines += ["", "The fitted candidate's facts (median over seeds):", "",
              "| fact | " + " | ".join(labels) + " |",
              "| --- | " + " | ".join("---:" for _ in labels) + " |"]
    lines += [f"| {n} | " + " | ".join(_num(calib.chosen.facts[lab][n]) for lab in labels)
              + " |" for n in names]
    return [*lines, ""]


def _report(calib, result: SearchResult, rows, base: MarketParams, timings, settings) -> str:
    space = calib.space
    lines = [
        "# Calibration report", "",
        f"Target `{calib.target.name}` ({calib.target.close.shape[0]} prices); one market "
        "step is one row of the target. Simulated: median and 5-95% band across "
        f"{rows[0]['n_seeds']} fresh seeds x assets of the fitted market; `default` is the "
        "median of the uncalibrated market on the same seeds.", "",
        "| moment | real | simulated median | simulated 5-95% | default | in loss |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rows:
        lines.append(f"| {r['moment']} ({r['meaning']}) | {_num(r['real'])} | "
                     f"{_num(r['sim_median'])} | {_num(r['sim_p05'])} .. {_num(r['sim_p95'])}"
                     f" | {_num(r['default_median'])} | {'yes' if r['in_loss'] else 'no'} |")
    lines += ["", f"Loss of the fitted candidate {calib.best_loss:.4g} (diagonal SMM, "
              "`experiments/calibration/objective.py`, plus the realism targets' penalty, "
              "`experiments/calibration/constraints.py`).", "", *_verification(calib),
              "| field | fitted | default | bounds | scale |", "| --- | ---: | ---: | --- | --- |"]
    for f, path, v in zip(space.fields, space.paths, calib.best, strict=True):
        old = float(np.asarray(get_field(base, path)))
        lines.append(f"| `{f.path}` | {v:.6g} | {old:.6g} | [{f.lo:g}, {f.hi:g}] | {f.scale} |")
    lines += ["", "| round | best loss | median loss | invalid | elapsed (s) |",
              "| ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r.round} | {r.best_loss:.4g} | {r.median_loss:.4g} | {r.n_invalid} | "
              f"{r.elapsed_s:.0f} |" for r in result.rounds]
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".",
              f"Time: search {timings['search_s']:.0f} s, total {timings['total_s']:.0f} s "
              f"(compile included) on {timings['cpus']} CPUs, load average "
              f"{timings['load_avg_start']:.1f} at the start, {timings['load_avg_end']:.1f} "
              "at the end.", "",
              "Load the fitted params: `quantmarl.market.params_io.load_params_yaml("
              "'params.yaml', config)`.", "",
              *[f"![{name}]({name})" for name in FIGURES], ""]
    return "\n".join(lines)


def write_all(out_dir: Path, calib, result: SearchResult, records: tuple[MomentRecord, ...],
              before: tuple[MomentRecord, ...], base: MarketParams, timings: dict[str, float],
              sim_returns: np.ndarray, settings: dict[str, Any]) -> list[Path]:
    """Write every output into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = (f"fitted by python -m experiments.calibrate to {calib.target.name}; "
              f"loss {calib.best_loss:.6g}\nload with quantmarl.market.params_io."
              "load_params_yaml(path, config)")
    paths = [dump_params_yaml(calib.space.mapping(calib.best), out / "params.yaml", header)]
    rows = _moments_rows(calib, records, before)
    _write_csv(out / "moments.csv", rows)
    n_initial = settings["initial_batches"] * settings["batch"]
    _write_csv(out / "history.csv", _history_rows(calib, result, n_initial, settings["batch"]))
    (out / "report.md").write_text(_report(calib, result, rows, base, timings, settings))
    paths += [out / "moments.csv", out / "history.csv", out / "report.md"]
    real = calib.target.log_returns()
    for name, panels in FIGURES.items():
        fig = comparison_figure(real, sim_returns, panels,
                                title=f"{calib.target.name} (real) vs simulated")
        fig.savefig(out / name, dpi=110)
        paths.append(out / name)
    return paths

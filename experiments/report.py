"""Experiment reports: ``report.json`` (schema below), ``report.md``, ``per_seed.csv``
and figures, all in one output directory.

The JSON report is the machine-readable record (checked by
:func:`validate_report`); the markdown report is for people: a summary, a
findings table, embedded figures, the config as YAML, and the versions and
machine that produced the numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from experiments.compare import REJECT, Finding
from experiments.config import config_to_dict

__all__ = [
    "FINDING_SCHEMA",
    "REPORT_SCHEMA",
    "environment",
    "findings_table",
    "validate_report",
    "write_report",
]

_NUM = (int, float)
_OPT_NUM = (int, float, type(None))

#: report.json: required key -> accepted type(s)
REPORT_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "experiment": str,
    "title": str,
    "created": str,  # ISO 8601 local time with offset
    "config": dict,
    "findings": list,
    "n_seeds": int,
    "alpha": float,
    "versions": dict,  # quantmarl, jax, jaxlib, numpy, scipy, python
    "machine": dict,  # platform, cpu_count, jax_backend, jax_devices
    "runtime_s": _OPT_NUM,
    "files": list,
    "notes": str,
}
#: each entry of report.json["findings"]: required key -> accepted type(s)
FINDING_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "hypothesis": str,
    "metric": str,
    "effect_size": _NUM,
    "ci_low": _NUM,
    "ci_high": _NUM,
    "p_value": _NUM,
    "test": str,
    "n_seeds": int,
    "alpha": _NUM,
    "verdict": str,
    "alternative": str,
    "cohens_d": _OPT_NUM,
    "p_adjusted": _OPT_NUM,
}
VERSION_KEYS = ("quantmarl", "jax", "jaxlib", "numpy", "python")
MACHINE_KEYS = ("platform", "cpu_count", "jax_backend")


def _check_types(d: Mapping, schema: Mapping, where: str, problems: list[str]) -> None:
    for key, tp in schema.items():
        if key not in d:
            problems.append(f"{where}: missing key {key!r}")
        elif isinstance(d[key], bool) and bool not in (tp if isinstance(tp, tuple) else (tp,)):
            problems.append(f"{where}.{key}: expected {tp}, got bool")
        elif not isinstance(d[key], tp):
            problems.append(f"{where}.{key}: expected {tp}, got {type(d[key]).__name__}")


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` listing every way ``report`` departs from the schema.

    Checks :data:`REPORT_SCHEMA`, :data:`FINDING_SCHEMA` for each finding, the
    version and machine keys, ``0 <= p <= 1``, ``ci_low <= ci_high``, and that
    each verdict agrees with its (adjusted) p-value and alpha.
    """
    problems: list[str] = []
    _check_types(report, REPORT_SCHEMA, "report", problems)
    for key, keys in (("versions", VERSION_KEYS), ("machine", MACHINE_KEYS)):
        if isinstance(report.get(key), dict):
            problems += [f"report.{key}: missing {k!r}" for k in keys if k not in report[key]]
    for i, f in enumerate(report.get("findings") or []):
        where = f"findings[{i}]"
        if not isinstance(f, dict):
            problems.append(f"{where}: expected dict, got {type(f).__name__}")
            continue
        before = len(problems)
        _check_types(f, FINDING_SCHEMA, where, problems)
        if len(problems) > before:
            continue
        p = f["p_adjusted"] if f["p_adjusted"] is not None else f["p_value"]
        if not 0.0 <= f["p_value"] <= 1.0:
            problems.append(f"{where}.p_value: {f['p_value']} not in [0, 1]")
        if not f["ci_low"] <= f["ci_high"]:
            problems.append(f"{where}: ci_low {f['ci_low']} > ci_high {f['ci_high']}")
        if f["verdict"] != (REJECT if p < f["alpha"] else "fail to reject H0"):
            problems.append(f"{where}.verdict: {f['verdict']!r} disagrees with p={p}, "
                            f"alpha={f['alpha']}")
    if problems:
        raise ValueError("invalid report:\n  " + "\n  ".join(problems))


# ----------------------------------------------------------------------------- environment


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        if dist == "quantmarl":
            import quantmarl

            return getattr(quantmarl, "__version__", "unknown")
        return "not installed"


def environment() -> tuple[dict[str, str], dict[str, Any]]:
    """``(versions, machine)``: package versions and the machine the run used."""
    import jax

    versions = {name: _version(name) for name in ("quantmarl", "jax", "jaxlib", "numpy", "scipy")}
    versions["python"] = platform.python_version()
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
    }
    return versions, machine


# ----------------------------------------------------------------------------- writing


def _columns(per_seed: Mapping[str, Any], what: str) -> tuple[list[str], list[np.ndarray]]:
    names = list(per_seed)
    cols = [np.asarray(per_seed[k]) for k in names]
    for k, c in zip(names, cols, strict=True):
        if c.ndim != 1:
            raise ValueError(f"{what} column {k!r} must be 1-D, got shape {c.shape}")
    if len({c.shape[0] for c in cols}) > 1:
        raise ValueError(f"{what} columns differ in length: "
                         f"{ {k: c.shape[0] for k, c in zip(names, cols, strict=True)} }")
    return names, cols


def _cell(x: Any) -> Any:
    x = x.item() if isinstance(x, np.generic) else x
    return repr(x) if isinstance(x, float) else x


def _write_csv(path: Path, names: list[str], cols: list[np.ndarray]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for row in zip(*cols, strict=True):
            w.writerow([_cell(x) for x in row])


def _show(v: Any) -> Any:
    v = v.item() if isinstance(v, np.generic) else v
    return _fmt(v) if isinstance(v, float) else v


def _seed_stats(name: str, values: np.ndarray) -> list:
    """One per-seed table row: name, finite count, mean, sd, min, max (n/a when empty)."""
    c = np.asarray(values, np.float64)
    c = c[np.isfinite(c)]
    if not c.size:
        return [name, 0, _fmt(None), _fmt(None), _fmt(None), _fmt(None)]
    return [name, int(c.size), _fmt(float(c.mean())),
            _fmt(float(c.std(ddof=1)) if c.size > 1 else None), _fmt(float(c.min())),
            _fmt(float(c.max()))]


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}" if abs(x) >= 1e-3 else f"{x:.2e}"


def _effect_cell(f) -> str:
    parts = [f"d = {_fmt(f.cohens_d, 3)}"] if f.cohens_d is not None else []
    parts += [f"d_z = {_fmt(f.d_z, 3)}"] if f.d_z is not None else []
    if f.mean_b is not None and f.mean_b != 0 and math.isfinite(f.mean_b):
        parts.append(f"{100 * f.effect_size / abs(f.mean_b):+.1f}% of b's level")
    return _fmt(f.effect_size) + (f" ({', '.join(parts)})" if parts else "")


def _p_cell(f) -> str:
    p = f"<= {_fmt(f.p_floor)}" if f.at_floor else _fmt(f.p_value)
    if f.p_adjusted is not None:
        p += f" (adj. {_fmt(f.p_adjusted)})"
    if f.p_wilcoxon is not None:
        p += f"; Wilcoxon {_fmt(f.p_wilcoxon)}"
    return p


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(esc(h) for h in headers) + " |",
           "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return out


def _summary(findings: Sequence[Finding], n_seeds: int, alpha: float) -> str:
    if not findings:
        return f"No hypotheses were tested ({n_seeds} seeds)."
    k = sum(f.verdict == REJECT for f in findings)
    corrected = {f.correction for f in findings if f.correction}
    corr = f", {', '.join(sorted(corrected))} corrected" if corrected else ""
    parts = [f"{len(findings)} hypothes{'is' if len(findings) == 1 else 'es'} tested over "
             f"{n_seeds} seeds at alpha = {alpha:g}{corr}: H0 rejected for {k}."]
    for f in findings:
        sig = "significant" if f.verdict == REJECT else "not significant"
        parts.append(f"{f.hypothesis} ({f.metric}): effect {_fmt(f.effect_size)} "
                     f"(95% CI {_fmt(f.ci_low)} to {_fmt(f.ci_high)}), {sig}.")
    return " ".join(parts)


def _close(fig: Any) -> None:
    """Release a figure: pyplot-managed ones are closed; plain ``Figure`` objects just dropped."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)


def write_report(
    out_dir: str | Path,
    name: str,
    title: str,
    findings: Sequence[Finding],
    per_seed: Mapping[str, Any],
    figures: Sequence[tuple[str, Any, str]] = (),
    tables: Mapping[str, Mapping[str, Any]] | None = None,
    notes: str = "",
    config: Any = None,
    runtime_s: float | None = None,
    alpha: float | None = None,
    limitations: str = "",
) -> Path:
    """Write the full report into ``out_dir`` and return the path of ``report.md``.

    ``per_seed``: column name -> 1-D array, one row per seed -> ``per_seed.csv``
    (a leading ``seed`` column 0..n-1 is added when absent). ``figures``:
    ``(filename.png, matplotlib Figure, caption)``, saved at 100 dpi and
    closed. ``tables``: extra tables, name -> columns, each -> ``NAME.csv`` and
    a markdown table. ``config``: the resolved config (dataclass or dict).
    ``alpha`` defaults to the findings' alpha (0.05 when there are none).
    ``limitations``: markdown for a "Limitations" section after the findings.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    findings = list(findings)
    if alpha is None:
        alpha = findings[0].alpha if findings else 0.05
    names, cols = _columns(per_seed, "per_seed")
    n_seeds = cols[0].shape[0] if cols else (findings[0].n_seeds if findings else 0)
    if "seed" not in per_seed:
        names, cols = ["seed", *names], [np.arange(n_seeds), *cols]
    _write_csv(out / "per_seed.csv", names, cols)
    extra = {}
    for tname, tcols in (tables or {}).items():
        if not tname.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"table name {tname!r} must be alphanumeric (with _ or -)")
        extra[tname] = _columns(tcols, f"table {tname!r}")
        _write_csv(out / f"{tname}.csv", *extra[tname])
    for fname, fig, _ in figures:
        if Path(fname).name != fname or not fname.endswith(".png"):
            raise ValueError(f"figure filename {fname!r} must be a plain name ending in .png")
        fig.savefig(out / fname, dpi=100, bbox_inches="tight")
        _close(fig)
    cfg = config_to_dict(config) if config is not None else {}
    versions, machine = environment()
    summary = _summary(findings, n_seeds, alpha)

    md = [f"# {title}", "", summary, ""]
    if notes:
        md += [notes.strip(), ""]
    md += ["## Findings", ""]
    md += _md_table(
        ["hypothesis", "metric", "effect", "95% CI", "p", "test", "n", "verdict"],
        [[f.hypothesis, f.metric, _effect_cell(f), f"[{_fmt(f.ci_low)}, {_fmt(f.ci_high)}]",
          _p_cell(f), f"{f.test}, {f.alternative}", f.n_seeds, f.verdict] for f in findings])
    md += ["", "Effect: mean of a - b across seeds, in the metric's units, with Cohen's d on "
           "the arms' own spread (paired: d_av, sd = sqrt((var a + var b) / 2)) and d_z "
           "(mean / sd of the paired differences, which common random numbers shrink); "
           "p: raw (Holm-adjusted where shown; \"<=\" where p sits at the smallest value "
           "its permutation test can give), with the Wilcoxon signed-rank p as a "
           "robustness check; the share is the effect relative to the mean of b (the "
           "control or baseline level).", ""]
    if limitations:
        md += ["## Limitations", "", limitations.strip(), ""]
    stats = [_seed_stats(k, c) for k, c in zip(names, cols, strict=True)
             if k != "seed" and c.size and np.issubdtype(c.dtype, np.number)]
    if stats:
        md += ["## Per-seed metrics", "", f"Over the seeds where the metric is finite (n of "
               f"{n_seeds}; `per_seed.csv` has every value).", ""]
        md += _md_table(["metric", "n", "mean", "sd", "min", "max"], stats) + [""]
    for tname, (tn, tc) in extra.items():
        md += [f"## {tname}", "", f"(`{tname}.csv`)", ""]
        md += _md_table(tn, [[_show(v) for v in row] for row in zip(*tc, strict=True)][:50])
        md.append("")
    if figures:
        md += ["## Figures", ""]
        for fname, _, caption in figures:
            md += [f"![{caption}]({fname})", "", f"*{caption}*", ""]
    md += ["## Configuration", "", "```yaml",
           yaml.safe_dump(cfg, sort_keys=False).rstrip(), "```", ""]
    md += ["## Environment", ""]
    md += [f"- {k}: {v}" for k, v in versions.items()]
    md += [f"- {k}: {v}" for k, v in machine.items()]
    if runtime_s is not None:
        md.append(f"- runtime: {runtime_s:.1f} s")
    md.append("")
    (out / "report.md").write_text("\n".join(md))

    files = sorted({p.name for p in out.iterdir() if p.is_file()} | {"report.json"})
    report = {
        "experiment": name,
        "title": title,
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": cfg,
        "findings": [f.to_dict() for f in findings],
        "n_seeds": int(n_seeds),
        "alpha": float(alpha),
        "versions": versions,
        "machine": machine,
        "runtime_s": None if runtime_s is None else float(runtime_s),
        "files": files,
        "notes": notes,
        "summary": summary,
    }
    validate_report(report)
    (out / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return out / "report.md"


def findings_table(report: Mapping[str, Any]) -> str:
    """A ``report.json`` as a short markdown summary: one line naming the run (seeds,
    runtime, machine), then one row per finding (effect, 95% CI, Holm-adjusted p, n,
    verdict). This is how the README's research tables are made."""
    m = report["machine"]
    runtime = report.get("runtime_s")
    head = (f"{report['title']}: {report['n_seeds']} seeds, "
            + (f"{runtime / 60:.1f} min on " if runtime is not None else "")
            + f"{m.get('cpu_count', '?')} CPU cores ({m.get('jax_backend', '?')}), "
            f"quantmarl {report['versions'].get('quantmarl', '?')}, "
            f"jax {report['versions'].get('jax', '?')}.")
    rows = [[f["metric"], _fmt(f["effect_size"]),
             f"[{_fmt(f['ci_low'])}, {_fmt(f['ci_high'])}]",
             _fmt(f.get("cohens_d"), 3),
             _fmt(f["p_adjusted"] if f["p_adjusted"] is not None else f["p_value"])
             + (" (raw p at the test's floor)" if f.get("at_floor") else ""),
             f["n_seeds"], f["verdict"]] for f in report["findings"]]
    table = _md_table(["metric (a - b)", "effect", "95% CI", "d", "p (Holm)", "n", "verdict"],
                      rows)
    return "\n".join([head, "", *table])


if __name__ == "__main__":  # python -m experiments.report results/NAME/<time>/report.json ...
    import sys

    for path in sys.argv[1:]:
        print(findings_table(json.loads(Path(path).read_text())), end="\n\n")

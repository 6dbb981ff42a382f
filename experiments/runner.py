"""The shared experiment runner: config, seeds, progress, output directory,
statistics and the report, behind one CLI.

An experiment module holds only its design: a frozen config dataclass, a
``run(config, out_dir) -> ExperimentResult`` function and an
:class:`ExperimentSpec`; ``main(SPEC)`` does the rest::

    python -m experiments.NAME [--quick] [--config FILE] [--seeds N] [--out DIR]
        [--placebo] [--sweep]

resolves the config (defaults < quick overrides < YAML file < ``--seeds``),
creates ``results/NAME/<YYYYmmdd-HHMMSS>/`` (or ``--out``), writes
``config.yaml``, runs the experiment, writes ``report.json``, ``report.md``,
``per_seed.csv`` and the figures, and prints the path of ``report.md`` as the
last line on stdout. A bad config prints ``error: ...`` to stderr and exits 2.

Everything an experiment needs is importable from here.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jax
from tqdm import tqdm

from experiments.compare import (
    Finding,
    holm_adjust,
    paired_comparison,
    two_sample_comparison,
    verdict,
)
from experiments.config import check_range, config_to_dict, dump_config, load_config
from experiments.recording import recording
from experiments.report import REPORT_SCHEMA, environment, validate_report, write_report
from quantmarl._validate import check_int
from quantmarl.runtime import configure as configure_runtime

__all__ = [
    "REPORT_SCHEMA",
    "ExperimentResult",
    "ExperimentSpec",
    "Finding",
    "Phases",
    "check_range",
    "config_to_dict",
    "dump_config",
    "environment",
    "holm_adjust",
    "load_config",
    "main",
    "make_out_dir",
    "format_timings",
    "paired_comparison",
    "phases",
    "progress",
    "seed_keys",
    "tracked",
    "two_sample_comparison",
    "validate_report",
    "verdict",
    "write_report",
]

T = TypeVar("T")
RESULTS_ROOT = Path("results")


# ----------------------------------------------------------------------------- seeds, progress


def seed_keys(seed: int, n: int) -> jax.Array:
    """``n`` independent PRNG keys from base ``seed`` (``jax.random.split`` of
    ``jax.random.key(seed)``), shape [n]: one per replicate, ready to ``vmap`` over."""
    check_int("seed", seed, allow_numpy=False)
    check_range("n", n, 1)
    return jax.random.split(jax.random.key(seed), n)


@contextlib.contextmanager
def progress(total: int, desc: str, unit: str = "phase") -> Iterator[tqdm]:
    """A tqdm bar on stderr over ``total`` named phases or conditions.

    >>> with progress(3, "herding") as bar:
    ...     for cond in ("calm", "crash", "rally"):
    ...         bar.set_postfix_str(cond); run_condition(cond); bar.update()

    Set ``TQDM_DISABLE=1`` to silence it.
    """
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


class Phases:
    """Named phases under one progress bar, each timed: ``with phases("train"): ...``.

    ``seconds`` maps a phase (or the ``timing`` name it is filed under; repeated
    names add up) to its wall time.
    """

    def __init__(self, bar: tqdm):
        self.bar = bar
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str, timing: str | None = None) -> Iterator[None]:
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            key = name if timing is None else timing
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
            self.bar.update()


@contextlib.contextmanager
def phases(total: int, desc: str) -> Iterator[Phases]:
    """:class:`Phases` over a :func:`progress` bar of ``total`` phases."""
    with progress(total, desc) as bar:
        yield Phases(bar)


def format_timings(seconds: Mapping[str, float]) -> str:
    """``"Timings (s): train 12.3, control 4.5."`` for a report's notes."""
    return "Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) + "."


def tracked(items: Sequence[T], desc: str, label: Callable[[T], str] = str) -> Iterator[T]:
    """Iterate ``items`` under a :func:`progress` bar, showing ``label(item)`` as the phase."""
    with progress(len(items), desc) as bar:
        for item in items:
            bar.set_postfix_str(label(item))
            yield item
            bar.update()


# ----------------------------------------------------------------------------- output


def make_out_dir(name: str, out: str | Path | None = None, root: str | Path = RESULTS_ROOT) -> Path:
    """Create and return the output directory.

    ``out`` given: that directory (created if needed). Otherwise
    ``root/name/<YYYYmmdd-HHMMSS>/``, with ``-1``, ``-2``, ... appended when the
    timestamped directory already exists.
    """
    if out is not None:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    base = Path(root) / name / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, i = base, 0
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{base.name}-{i}")


# ----------------------------------------------------------------------------- spec and driver


@dataclass
class ExperimentResult:
    """What an experiment's ``run`` returns.

    ``per_seed``: metric name -> 1-D array with one value per seed (the rows of
    ``per_seed.csv``). ``figures``: ``(filename.png, Figure, caption)``.
    ``tables``: extra tables, name -> columns. ``notes``: markdown shown under
    the summary. ``limitations``: markdown for the report's "Limitations" section.
    """

    findings: list[Finding]
    per_seed: Mapping[str, Any]
    figures: list[tuple[str, Any, str]] = field(default_factory=list)
    notes: str = ""
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limitations: str = ""


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment as the runner sees it.

    ``config_cls``: frozen dataclass whose defaults are the full run;
    ``quick``: overrides for ``--quick`` (nested dicts or dotted keys; empty ->
    the class's ``QUICK`` attribute if any); ``run(config, out_dir)`` does the work.
    ``sweep``: the :class:`~experiments.sweep.SweepDesign` behind ``--sweep`` (None: no
    sweep; the config then needs a ``sweep`` field).
    """

    name: str
    title: str
    config_cls: type
    run: Callable[[Any, Path], ExperimentResult]
    quick: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    sweep: Any = None


def _parser(spec: ExperimentSpec) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python -m experiments.{spec.name}",
        description=spec.description or spec.title,
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for CI and smoke tests")
    p.add_argument("--config", metavar="FILE", help="YAML file overriding config fields")
    p.add_argument("--seeds", type=int, metavar="N", help="number of seeds (>= 2)")
    p.add_argument("--out", metavar="DIR", help="output directory (default results/NAME/<time>)")
    p.add_argument("--placebo", action="store_true",
                   help="A/A run: the treatment arms replaced by the control policy")
    p.add_argument("--sweep", action="store_true",
                   help="dose-response over the main factor and sensitivity to market "
                   "parameters (config field sweep); report in results/NAME-sweep/<time>")
    p.add_argument("--record", metavar="FILE",
                   help="write every evaluation episode to this run store (SQLite, "
                   "experiments.recording)")
    return p


def main(spec: ExperimentSpec, argv: Iterable[str] | None = None) -> int:
    """Run ``spec`` from the command line (``argv`` defaults to ``sys.argv[1:]``).

    Returns 0; a config error prints ``error: ...`` to stderr and raises
    ``SystemExit(2)``. The last stdout line is the path of ``report.md``.
    """
    parser = _parser(spec)
    args = parser.parse_args(None if argv is None else list(argv))
    configure_runtime()  # before any computation
    overrides = {} if args.seeds is None else {"seeds": args.seeds}
    if args.placebo:
        if "placebo" not in {f.name for f in dataclasses.fields(spec.config_cls)}:
            print(f"error: --placebo: not available for {spec.name}", file=sys.stderr)
            raise SystemExit(2)
        overrides["placebo"] = True
    if args.sweep and spec.sweep is None:
        print(f"error: --sweep: not available for {spec.name}", file=sys.stderr)
        raise SystemExit(2)
    quick: bool | Mapping[str, Any] = False
    if args.quick:
        quick = dict(spec.quick) if spec.quick else True
    try:
        config = load_config(spec.config_cls, args.config, overrides, quick=quick)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    name, title, run = spec.name, spec.title, spec.run
    if args.sweep:
        from experiments.sweep import run_sweep

        name, title = f"{spec.name}-sweep", f"{spec.title}: dose-response and sensitivity"
        run = lambda cfg, _out: run_sweep(spec.sweep, cfg, spec.name)  # noqa: E731
    out_dir = make_out_dir(name, args.out)
    dump_config(config, out_dir / "config.yaml")
    t0 = time.perf_counter()
    with recording(args.record, f"{name}/{out_dir.name}"):
        result = run(config, out_dir)
    runtime = time.perf_counter() - t0
    notes = result.notes
    if args.quick:
        notes = "**Quick run** (`--quick`): small sizes, for smoke tests only.\n\n" + notes
    report = write_report(
        out_dir, name, title, result.findings, result.per_seed, result.figures,
        tables=result.tables, notes=notes, config=config, runtime_s=runtime,
        alpha=getattr(config, "alpha", None), limitations=result.limitations,
    )
    print(report, flush=True)
    return 0

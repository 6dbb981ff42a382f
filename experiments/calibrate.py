"""Calibrate the market to a real price series by the simulated method of moments.

    python -m experiments.calibrate [--quick] [--target sp500|FILE.csv] [--config FILE]
                                    [--out DIR] [--seed S]

Fits the declared ``MarketParams`` fields (``fields:``, default
:data:`experiments.calibration.space.DEFAULT_FIELDS`) of the market ``market:`` (default:
the experiments' market) so that the stylised-facts moments of its step-horizon close
returns match those of the target (default: the S&P 500 daily series shipped with
``arch``; one step is one day). Candidates are evaluated ``batch`` at a time in one
compiled, ``vmap``-ed call (:func:`experiments.series.simulate`), all on the same
``seeds`` (common random numbers); the search is a Sobol design (whose first point is the
market's current values) then cross-entropy rounds
(:mod:`experiments.calibration.search`), the loss a diagonal SMM distance
(:mod:`experiments.calibration.objective`) plus a penalty for each stylised fact the
candidate fails (:mod:`experiments.calibration.constraints`, weight ``penalty``). The
``verify`` best distinct candidates are then re-checked, best first, by the realism
check on fresh seeds in every clearing mode of ``verify_modes``, jumps on and off, until
one passes every required fact (:mod:`experiments.calibration.verify`); the fitted
candidate is the one with the fewest failed facts, then the lowest loss. It is
re-simulated on ``report_seeds`` fresh seeds (and so is the uncalibrated market) for the
report.

Writes to ``--out`` (default ``runs/calibrate-<YYYYmmdd-HHMMSS>``): ``params.yaml``
(the fitted fields only; load with :func:`quantmarl.market.params_io.load_params_yaml`),
``moments.csv``, ``report.md`` (side-by-side table), ``history.csv``, ``config.yaml``
and the figures ``acf.png``, ``qq.png``, ``kurtosis.png``. A bad config or target prints
``error: ...`` and exits 2, before anything compiles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import numpy as np

from experiments import realism
from experiments.calibration import constraints, objective, output
from experiments.calibration.objective import MOMENT_NAMES
from experiments.calibration.search import RoundLog, SearchSettings, search
from experiments.calibration.space import DEFAULT_FIELDS, FitField, Space, make_space
from experiments.calibration.target import Target, load_target
from experiments.calibration.verify import Verdict, choose, top_distinct, verify
from experiments.compiling import OPTIMIZATION_LEVEL
from experiments.config import check_range, dump_config, load_config
from experiments.series import simulate
from experiments.settings import experiment_market
from quantmarl.market import MarketConfig, MarketParams, default_params
from quantmarl.market.params_io import check_params, get_field
from quantmarl.quant.stylized import MIN_MOMENT_RETURNS, moment_vector, side_by_side
from quantmarl.runtime import configure as configure_runtime

__all__ = ["CalibrateConfig", "main", "run"]


@dataclass(frozen=True)
class CalibrateConfig:
    """Everything a calibration run needs; defaults are the full run."""

    QUICK: ClassVar[dict] = {"seeds": 2, "steps": 600, "burn_in": 100, "batch": 48,
                             "initial_batches": 1, "rounds": 2, "report_seeds": 6, "verify": 0}

    market: MarketConfig = experiment_market()
    target: str = "sp500"  # "sp500" or a CSV path (close, optional volume and date columns)
    fields: tuple[FitField, ...] = DEFAULT_FIELDS
    moments: tuple[str, ...] = MOMENT_NAMES  # moments in the loss (those the target has)
    seeds: int = 4  # common seeds of every candidate
    steps: int = 1500  # recorded steps per market (after burn_in)
    burn_in: int = 200  # steps dropped at the start of every market
    batch: int = 128  # candidates per compiled call
    initial_batches: int = 2  # Sobol design size, in batches
    rounds: int = 8  # cross-entropy rounds
    elite: float = 0.1  # elite share of a batch
    report_seeds: int = 16  # fresh seeds for the side-by-side report of the winner
    hill_fraction: float = 0.05  # tail share of the Hill index
    penalty: float = 1.0  # weight of the realism targets' soft constraints (0: SMM alone)
    verify: int = 6  # best distinct candidates the realism check may try (0: none)
    verify_modes: tuple[str, ...] = ("auction", "cda")  # clearing modes of that check
    verify_seeds: int = 16  # seeds x steps (after verify_burn_in) of that check
    verify_steps: int = 3000
    verify_burn_in: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        check_range("steps", self.steps, MIN_MOMENT_RETURNS + 1, 10**6)
        check_range("burn_in", self.burn_in, 0, 10**6)
        check_range("batch", self.batch, 2, 1 << 14)
        check_range("initial_batches", self.initial_batches, 1, 1000)
        check_range("rounds", self.rounds, 0, 1000)
        check_range("elite", self.elite, 0.0, 1.0, lo_open=True)
        check_range("report_seeds", self.report_seeds, 2, 1 << 14)
        check_range("hill_fraction", self.hill_fraction, 0.0, 0.5, lo_open=True)
        check_range("penalty", self.penalty, 0.0, 1e6)
        check_range("verify", self.verify, 0, 1000)
        check_range("verify_seeds", self.verify_seeds, 1, 1 << 14)
        check_range("verify_steps", self.verify_steps, 200, 10**6)
        check_range("verify_burn_in", self.verify_burn_in, 0, 10**6)
        bad = [m for m in self.verify_modes if m not in ("auction", "cda")]
        if bad or not self.verify_modes:
            raise ValueError(f"verify_modes must name 'auction' and/or 'cda', got "
                             f"{list(self.verify_modes)}")
        unknown = [m for m in self.moments if m not in MOMENT_NAMES]
        if unknown or not self.moments:
            raise ValueError(f"moments must name some of {', '.join(MOMENT_NAMES)}; "
                             f"got {list(self.moments)}")


@dataclass(frozen=True)
class Calibration:
    """What a run found: the space, the winner, the real moments, the side-by-side."""

    space: Space
    target: Target
    best: np.ndarray  # float64 [D] fitted values
    best_loss: float
    real: np.ndarray  # float64 [M] the target's moments
    scale: np.ndarray  # float64 [M] the loss scale
    mask: np.ndarray  # bool [M] moments in the loss
    verdicts: tuple[Verdict, ...] = ()  # the realism check of the best candidates
    chosen: Verdict | None = None  # the verdict of ``best`` (None: not verified)


class _Objective:
    """Unit-cube points -> SMM losses, through one compiled batched simulation."""

    def __init__(self, cfg: CalibrateConfig, space: Space, base: MarketParams,
                 real: np.ndarray, mask: np.ndarray):
        self.cfg, self.space, self.base, self.real, self.mask = cfg, space, base, real, mask
        self.keys = jax.random.split(jax.random.key(cfg.seed), cfg.seeds)
        # the defaults' own values: a valid row to simulate in place of an invalid candidate
        self.fallback = np.array([float(np.asarray(get_field(base, p))) for p in space.paths])
        self.scale: np.ndarray | None = None

    def __call__(self, unit: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        values = self.space.values(unit)
        ok = self.space.valid(cfg.market, self.base, values)
        safe = np.where(ok[:, None], values, self.fallback)  # invalid ones simulate a valid row
        if unit.shape[0] < cfg.batch:  # keep the compiled batch size
            safe = np.concatenate([safe, np.repeat(safe[:1], cfg.batch - len(safe), 0)])
        sim = simulate(cfg.market, self.space.batch(self.base, safe), self.keys, cfg.steps,
                       burn_in=cfg.burn_in, batched_params=True)
        moments = np.asarray(objective.series_moments(sim.close, sim.volume,
                                                      cfg.hill_fraction))[: len(values)]
        if self.scale is None:
            self.scale = objective.spread_scale(moments[ok], self.real)
        loss = objective.loss(moments, self.real, self.scale, self.mask)
        if cfg.penalty > 0:
            rho = np.asarray(constraints.pooled_acf(sim.close))[: len(values)]
            loss = loss + cfg.penalty * constraints.penalty(moments, rho)
        return np.where(ok, loss, np.inf)


SIGNIFICANT_DIGITS = 4  # verified (and shipped) values are rounded to this many digits


def significant(x: np.ndarray, digits: int) -> np.ndarray:
    """float64 ``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    x = np.asarray(x, np.float64)
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[np.float64])(x)


def _verified_best(cfg: CalibrateConfig, space: Space, result, log):
    """The fitted values [D], the verdicts and the chosen one: the search's best when
    ``cfg.verify`` is 0, else the verified candidate with the fewest failed facts (values
    rounded to :data:`SIGNIFICANT_DIGITS` digits before they are verified)."""
    if cfg.verify == 0:
        return space.values(result.best[None])[0], [], None
    rows = top_distinct(result.units, result.losses, cfg.verify)
    values = significant(space.values(result.units[rows]), SIGNIFICANT_DIGITS)
    cands = [(i, float(result.losses[i]), lambda base, v=v: space.one(base, v))
             for i, v in zip(rows, values, strict=True)]
    verdicts = verify(cfg.market, cands, cfg.verify_modes, cfg.verify_seeds, cfg.verify_steps,
                      cfg.verify_burn_in, seed=cfg.seed + 1, log=log)
    chosen = choose(verdicts)
    log(f"chose search row {chosen.index} (loss {chosen.loss:.4g}): "
        f"{chosen.n_failed} failed facts" + (f" ({', '.join(chosen.failed)})"
                                             if chosen.failed else ""))
    return values[rows.index(chosen.index)], verdicts, chosen


def _series(cfg: CalibrateConfig, params: MarketParams, seed: int):
    """Close and volume [S * A, T] of ``report_seeds`` fresh markets with ``params``."""
    keys = jax.random.split(jax.random.fold_in(jax.random.key(cfg.seed), seed),
                            cfg.report_seeds)
    sim = simulate(cfg.market, params, keys, cfg.steps, burn_in=cfg.burn_in)

    def flat(x):
        x = np.asarray(x)
        return np.moveaxis(x, -1, 1).reshape(-1, x.shape[1])

    return flat(sim.close), flat(sim.volume)


def run(cfg: CalibrateConfig, out_dir: Path, log=print) -> Calibration:
    """Calibrate, write every output into ``out_dir``, return the result."""
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    target = load_target(cfg.target)
    real = np.asarray(moment_vector(target.log_returns(), None if target.volume is None
                                    else target.volume[1:], cfg.hill_fraction))
    base = default_params(cfg.market)
    space = make_space(cfg.fields, cfg.market, base)
    mask = objective.moment_mask(real, cfg.moments)
    log(f"target {target.name}: {target.close.shape[0]} prices; fitting {space.dim} fields "
        f"on {int(mask.sum())} moments; {cfg.batch} candidates x {cfg.seeds} seeds x "
        f"{cfg.steps} steps per call (the first call compiles)")
    obj = _Objective(cfg, space, base, real, mask)
    total = cfg.rounds

    def progress(r: RoundLog) -> None:
        log(f"round {r.round}/{total}  best loss {r.best_loss:.4g}  median {r.median_loss:.4g}"
            f"  invalid {r.n_invalid}  elapsed {r.elapsed_s:.0f} s")

    settings = SearchSettings(batch=cfg.batch, initial_batches=cfg.initial_batches,
                              rounds=cfg.rounds, elite=cfg.elite, seed=cfg.seed)
    result = search(obj, space.dim, settings, progress, start=space.unit(obj.fallback))
    t_search = time.perf_counter() - t0
    best, verdicts, chosen = _verified_best(cfg, space, result, log)
    fitted = check_params(cfg.market, space.one(base, best))
    close, volume = _series(cfg, fitted, 1)
    d_close, d_volume = _series(cfg, base, 1)
    records = side_by_side(close, target.close, volume, target.volume, cfg.hill_fraction)
    before = side_by_side(d_close, target.close, d_volume, target.volume, cfg.hill_fraction)
    calib = Calibration(space, target, best, result.best_loss if chosen is None else
                        chosen.loss, real, obj.scale, mask, tuple(verdicts), chosen)
    timings = {"search_s": t_search, "total_s": time.perf_counter() - t0,
               "load_avg_start": load0[0], "load_avg_end": os.getloadavg()[0],
               "cpus": os.cpu_count()}
    output.write_all(out_dir, calib, result, records, before, base, timings,
                     sim_returns=np.diff(np.log(close.astype(np.float64)), axis=-1),
                     settings={k: getattr(cfg, k) for k in (
                         "seeds", "steps", "burn_in", "batch", "initial_batches", "rounds",
                         "elite", "report_seeds", "penalty", "verify", "verify_modes",
                         "verify_seeds", "verify_steps", "verify_burn_in", "seed")})
    log(f"best loss {result.best_loss:.4g}; search {t_search:.0f} s, total "
        f"{timings['total_s']:.0f} s (load average {load0[0]:.1f} -> "
        f"{timings['load_avg_end']:.1f} on {os.cpu_count()} CPUs)")
    return calib


def check(quick: bool) -> int:
    """``--check``: the stylised-facts check of the shipped markets (both markets, both
    clearing modes; :mod:`experiments.realism`), printed as JSON lines with each fact's
    value and target; exit code 0 when every required fact passes, else 1."""
    return realism.main(["--quick"] if quick else [])


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m experiments.calibrate",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small budget (about 2 minutes)")
    ap.add_argument("--target", help="'sp500' (default) or a CSV file with a close column")
    ap.add_argument("--config", help="YAML file: market, fields, budget (config keys)")
    ap.add_argument("--out", help="output directory (default runs/calibrate-<timestamp>)")
    ap.add_argument("--seed", type=int, help="seed of the markets and the search")
    ap.add_argument("--check", action="store_true",
                    help="check the stylised facts of the shipped markets (JSON lines)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    configure_runtime(optimization_level=OPTIMIZATION_LEVEL)  # before any computation
    overrides = {k: v for k, v in (("target", args.target), ("seed", args.seed)) if v is not None}
    try:
        if args.check:
            return check(args.quick)
        cfg = load_config(CalibrateConfig, args.config, overrides, quick=args.quick)
        make_space(cfg.fields, cfg.market, default_params(cfg.market))
        load_target(cfg.target)  # a bad target fails here, before anything is written
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/calibrate-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    try:
        run(cfg, out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(out / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

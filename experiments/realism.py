"""Does the market behave like a market? The stylized facts of real returns at the step horizon,
checked against their targets: one JSON line per fact and configuration.

``python -m experiments.realism [--quick] [--mode auction|cda|both]
[--market default|experiments|both] [--no-jumps] [--params FILE] [--set PATH=VALUE ...]
[--seeds N] [--steps T] [--impact] [--ablation [FILE]]`` exits non-zero when a required fact fails.

Importable pieces (the calibration uses them): :data:`TARGETS`, :func:`fact_values`
(per-seed values), :func:`facts` (medians over seeds), :func:`check` (rows with pass flags),
:func:`market` (a named market's config and params), :func:`measure` (simulate, then facts).

Linear autocorrelation across seeds: ``acf_1`` and ``acf_2_10_max_abs`` take the median
over seeds of ACF(r) *at each lag* first, then (for lags 2-10) the largest absolute
value over the lags. Taking the maximum over nine lags per seed first would put a noise
floor of about 0.035 under the median for white noise at 3,000 steps (more with fat
tails), so a perfectly unpredictable market would fail the 0.05 target. The rows of
both facts carry ``band``: the 95% band ``1.96 / sqrt(S * T)`` of a white-noise ACF
pooled over the ``S`` series of ``T`` steps, for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import yaml

from experiments.series import simulate
from experiments.settings import experiment_market
from quantmarl.market import MarketConfig, MarketParams, default_params
from quantmarl.market.params_io import apply_overrides, load_params_yaml
from quantmarl.quant import stylized as sty

__all__ = ["MARKETS", "TARGETS", "Target", "check", "fact_values", "facts", "main", "market",
           "measure", "measure_many", "no_jumps"]

HILL_FRACTION = 0.05  # Hill index from the top 5% of |r|
# markets per configuration of the full check: medians over 6 fat-tailed, clustered series
# are too noisy for targets like |ACF| < 0.05 (one market: 0.036 on one set of 6 seeds,
# 0.070 on another; 0.039 on 24), so the check takes 16 (the criteria ask for at least 6)
SEEDS = 16
AGG_HORIZON = 20  # steps summed for the aggregational-Gaussianity fact


@dataclass(frozen=True)
class Target:
    """A fact's target: ``test(value, all_values) -> bool``; ``required`` facts set the exit."""

    text: str
    unit: str
    test: Callable[[float, dict[str, float]], bool]
    required: bool = True


TARGETS: dict[str, Target] = {
    "kurtosis": Target("> 3", "excess kurtosis", lambda v, f: v > 3.0),
    "kurtosis_20": Target("< kurtosis (1 step)", "excess kurtosis",
                          lambda v, f: v < f["kurtosis"]),
    "acf_1": Target("|x| < 0.1", "autocorrelation", lambda v, f: abs(v) < 0.1),
    "acf_2_10_max_abs": Target("< 0.05", "autocorrelation", lambda v, f: v < 0.05),
    "abs_acf_1": Target("> 0.1", "autocorrelation", lambda v, f: v > 0.1),
    "abs_acf_10": Target("> 0 (reported)", "autocorrelation", lambda v, f: v > 0.0, False),
    "abs_acf_20": Target("> 0.05", "autocorrelation", lambda v, f: v > 0.05),
    "abs_acf_50": Target("> 0 (reported)", "autocorrelation", lambda v, f: v > 0.0, False),
    "hill": Target("in [2, 5]", "tail index", lambda v, f: 2.0 <= v <= 5.0),
    "leverage": Target("< 0 (goal)", "correlation", lambda v, f: v < 0.0, False),
    "volume_corr": Target("> 0.1", "correlation", lambda v, f: v > 0.1),
    "zero_share": Target("< 0.05", "share of steps", lambda v, f: v < 0.05),
}


def fact_values(returns: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Every fact per series: ``returns`` float [S, T] log returns, ``volume`` [S, T] lots
    traded in the same steps -> {name: float64 [S]}, plus ``acf`` float64 [S, 11]
    (ACF(r) at lags 0-10, which :func:`facts` uses per lag)."""
    r = jnp.asarray(returns, jnp.float64)
    v = jnp.asarray(volume, jnp.float64)
    k = max(1, int(HILL_FRACTION * r.shape[-1]))
    rho = jax.vmap(lambda x: sty.acf(x, 10))(r)
    rho_abs = jax.vmap(lambda x: sty.acf_abs(x, 50))(r)
    out = {
        "kurtosis": jax.vmap(sty.excess_kurtosis)(r),
        "kurtosis_20": jax.vmap(partial(sty.aggregational_gaussianity,
                                        horizons=(AGG_HORIZON,)))(r)[:, 0],
        "acf_1": rho[:, 1],
        "acf_2_10_max_abs": jnp.max(jnp.abs(rho[:, 2:]), axis=1),
        "abs_acf_1": rho_abs[:, 1],
        "abs_acf_10": rho_abs[:, 10],
        "abs_acf_20": rho_abs[:, 20],
        "abs_acf_50": rho_abs[:, 50],
        "hill": jax.vmap(lambda x: sty.hill_tail_index(x, k))(r),
        "leverage": jax.vmap(lambda x: sty.leverage_correlation(x, 1))(r),
        "volume_corr": jax.vmap(sty.volume_volatility_correlation)(r, v),
        "zero_share": jax.vmap(sty.zero_return_share)(r),
        "acf": rho,
    }
    return {name: np.asarray(x, np.float64) for name, x in out.items()}


def facts(returns: np.ndarray, volume: np.ndarray) -> dict[str, float]:
    """Median over series of :func:`fact_values` (NaNs ignored): {name: float}, except
    ``acf_1`` and ``acf_2_10_max_abs``, taken from the per-lag medians of ACF(r) (module
    docstring), and ``acf_band``, the pooled white-noise 95% band ``1.96 / sqrt(S * T)``."""
    per = fact_values(returns, volume)
    rho = np.nanmedian(per.pop("acf"), axis=0)  # [11]: median over series at each lag
    out = {name: float(np.nanmedian(x)) for name, x in per.items()}
    out["acf_1"] = float(rho[1])
    out["acf_2_10_max_abs"] = float(np.max(np.abs(rho[2:])))
    s, t = np.shape(returns)
    out["acf_band"] = float(1.96 / np.sqrt(s * t))
    return out


def check(values: dict[str, float], **labels) -> list[dict]:
    """One row per fact: name, value, target, pass, unit, required, then ``labels``."""
    rows = []
    for name, target in TARGETS.items():
        v = values[name]
        ok = bool(np.isfinite(v) and target.test(v, values))
        row = {"name": name, "value": round(v, 5), "target": target.text, "pass": ok,
               "unit": target.unit, "required": target.required}
        if name.startswith("acf_") and "acf_band" in values:
            row["band"] = round(values["acf_band"], 5)
        rows.append({**row, **labels})
    return rows


def _experiments_config(clearing: str) -> MarketConfig:
    return experiment_market(clearing=clearing)


def _default_config(clearing: str) -> MarketConfig:
    return MarketConfig(clearing=clearing)


MARKETS: dict[str, Callable[[str], MarketConfig]] = {
    "default": _default_config, "experiments": _experiments_config}


def market(name: str, clearing: str, n_smart: int = 0,
           params_file: str | None = None) -> tuple[MarketConfig, MarketParams]:
    """A named market of :data:`MARKETS` (``clearing`` "auction" or "cda") with
    ``default_params``, or with the fields of a params YAML ``params_file`` (e.g. a
    calibration's ``params.yaml``) set over them."""
    config = MARKETS[name](clearing)
    if n_smart:
        config = MarketConfig(**{**config.__dict__, "n_smart": n_smart})
    if params_file:
        return config, load_params_yaml(params_file, config)
    return config, default_params(config)


def no_jumps(params: MarketParams) -> MarketParams:
    """``params`` with the fundamental's jumps off."""
    return params.replace(fundamental=params.fundamental.replace(jump_prob=jnp.asarray(0.0)))


def measure(config: MarketConfig, params: MarketParams, seeds: int, steps: int,
            burn_in: int = 500, seed: int = 0) -> dict[str, float]:
    """Simulate ``seeds`` markets for ``burn_in + steps`` steps; the facts' medians."""
    keys = jax.random.split(jax.random.key(seed), seeds)
    series = simulate(config, params, keys, steps + 1, burn_in=burn_in)
    r = np.moveaxis(series.log_returns(), -1, 1).reshape(-1, steps)  # [S * A, T]
    v = np.moveaxis(np.asarray(series.volume)[:, 1:], -1, 1).reshape(-1, steps)
    return facts(r, v)


def measure_many(config: MarketConfig, params: list[MarketParams], seeds: int, steps: int,
                 burn_in: int = 500, seed: int = 0) -> list[dict[str, float]]:
    """:func:`measure` for several params sets in one compiled call (same keys)."""
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
    keys = jax.random.split(jax.random.key(seed), seeds)
    series = simulate(config, batch, keys, steps + 1, burn_in=burn_in, batched_params=True)
    r = np.moveaxis(series.log_returns(), -1, 2)  # [P, S, A, T]
    v = np.moveaxis(np.asarray(series.volume)[:, :, 1:], -1, 2)
    return [facts(r[i].reshape(-1, steps), v[i].reshape(-1, steps)) for i in range(len(params))]


def _parse(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m experiments.realism", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="4 seeds x 1,500 steps")
    ap.add_argument("--mode", choices=("auction", "cda", "both"), default="both")
    ap.add_argument("--market", choices=("default", "experiments", "both"), default="default",
                    help="MarketConfig() or the experiments' market (the same population, "
                         "200-step episodes)")
    ap.add_argument("--no-jumps", action="store_true", help="fundamental.jump_prob = 0")
    ap.add_argument("--params", metavar="FILE", default=None,
                    help="params YAML set over the defaults (e.g. a calibration's params.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a MarketParams field after --params, e.g. "
                         "background.herding=0.5 (repeatable)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="markets per configuration (16; see SEEDS)")
    ap.add_argument("--steps", type=int, default=None, help="steps after burn-in (3,000)")
    ap.add_argument("--burn-in", type=int, default=500)
    ap.add_argument("--impact", action="store_true", help="metaorder impact exponent instead")
    ap.add_argument("--ablation", nargs="?", const="-", default=None, metavar="FILE",
                    help="mechanisms off in turn; markdown table to FILE (- = stdout)")
    args = ap.parse_args(argv)
    args.seeds = args.seeds or (4 if args.quick else SEEDS)
    args.steps = args.steps or (1500 if args.quick else 3000)
    if args.seeds < 1 or args.steps < 200:
        ap.error("--seeds must be >= 1 and --steps >= 200")
    return args


def with_overrides(args, config: MarketConfig, params: MarketParams) -> MarketParams:
    """``params`` with ``--no-jumps`` and every ``--set PATH=VALUE`` applied (checked)."""
    if args.no_jumps:
        params = no_jumps(params)
    pairs = [item.split("=", 1) for item in args.set]
    if any(len(p) != 2 for p in pairs):
        raise SystemExit(f"--set takes PATH=VALUE, got {args.set}")
    return apply_overrides(params, {k: yaml.safe_load(v) for k, v in pairs}, config)


def _choices(arg: str, options: tuple[str, ...]) -> tuple[str, ...]:
    return options if arg == "both" else (arg,)


def main(argv=None) -> int:
    """Run the check; print JSON lines; 0 when every required fact passes, else 1."""
    args = _parse(argv)
    modes = _choices(args.mode, ("auction", "cda"))
    markets = _choices(args.market, ("default", "experiments"))
    if args.impact:
        from experiments.impact import main_impact
        return main_impact(args, markets, modes)
    if args.ablation is not None:
        from experiments.ablation import main_ablation
        return main_ablation(args, markets, modes)
    failed = False
    for name in markets:
        for mode in modes:
            config, params = market(name, mode, params_file=args.params)
            params = with_overrides(args, config, params)
            values = measure(config, params, args.seeds, args.steps, args.burn_in)
            for row in check(values, market=name, mode=mode, jumps=not args.no_jumps,
                             seeds=args.seeds, steps=args.steps):
                print(json.dumps(row), flush=True)
                failed |= row["required"] and not row["pass"]
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())

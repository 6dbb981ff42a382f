"""Ablation of the market's mechanisms: switch each off in turn and report which stylized
facts then fail (``python -m experiments.realism --ablation [FILE]``: JSON lines, and the
markdown table of ``docs/market_model.md`` to FILE or stdout)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import jax.numpy as jnp

from quantmarl.market import MarketParams

__all__ = ["CDA_MECHANISMS", "MECHANISMS", "main_ablation", "mechanisms", "table"]


def _with(record, fields: dict):
    """``record`` (a params struct) with ``fields`` set, each keeping its dtype."""
    return record.replace(**{k: jnp.asarray(v, getattr(record, k).dtype)
                             for k, v in fields.items()})


def _bg(**fields) -> Callable[[MarketParams], MarketParams]:
    def off(p: MarketParams) -> MarketParams:
        return p.replace(background=_with(p.background, fields))
    return off


def _jumps_off(p: MarketParams) -> MarketParams:
    return p.replace(fundamental=p.fundamental.replace(jump_prob=jnp.asarray(0.0)))


def _idle(behaviour: str) -> Callable[[MarketParams], MarketParams]:
    """A behaviour's traders never triggered (threshold 1e3: no return or z-score reaches it)."""
    from experiments.settings import EXPERIMENT_REACTIVE

    names = [name for name, _ in EXPERIMENT_REACTIVE]

    def off(p: MarketParams) -> MarketParams:
        i = names.index(behaviour)  # the same block order in both named markets
        b = list(p.behaviours)
        b[i] = b[i].replace(threshold_lo=1e3, threshold_hi=1e3)
        return p.replace(behaviours=tuple(b))
    return off


#: mechanism -> params with it switched off
MECHANISMS: dict[str, Callable[[MarketParams], MarketParams]] = {
    "quotes in units of volatility (quote_vol_elasticity 0)": _bg(quote_vol_elasticity=0.0),
    "herding in busy periods (herding 0)": _bg(herding=0.0),
    "sizes grow with activity (size_elasticity 0)": _bg(size_elasticity=0.0),
    "self-exciting flow (excitation = 0)": _bg(excitation=0.0),
    "aggression responds to activity (elasticity 0)": _bg(aggression_elasticity=0.0),
    "dispersion responds to activity (elasticity 0)": _bg(dispersion_elasticity=0.0),
    "liquidity withdraws with activity (elasticity 0)": _bg(withdrawal_elasticity=0.0),
    "all activity responses (elasticities 0)": _bg(aggression_elasticity=0.0,
                                                  dispersion_elasticity=0.0,
                                                  withdrawal_elasticity=0.0),
    "fundamental jumps (jump_prob = 0)": _jumps_off,
    "trend followers idle (momentum threshold 1e3)": _idle("momentum"),
    "contrarians idle (mean_reversion threshold 1e3)": _idle("mean_reversion"),
    "flow prices value itself (value_pull 0 -> 0.1, the old default)": _bg(value_pull=0.1),
}


def _market(**fields) -> Callable[[MarketParams], MarketParams]:
    def off(p: MarketParams) -> MarketParams:
        return _with(p, fields)
    return off


#: mechanisms of the resting book (no effect in the call auction, where nothing rests)
CDA_MECHANISMS: dict[str, Callable[[MarketParams], MarketParams]] = {
    "traders keep their resting orders (replace_orders 0)": _market(replace_orders=0.0),
    "traders replace every order each step (replace_orders 1)": _market(replace_orders=1.0),
    "quotes at a random place in the step (quote_priority 0)": _market(quote_priority=0.0),
}


def mechanisms(mode: str) -> dict[str, Callable[[MarketParams], MarketParams]]:
    """The ablations that apply in clearing ``mode``: every mode's, then the book's in CDA."""
    return {**MECHANISMS, **(CDA_MECHANISMS if mode == "cda" else {})}


def table(results: dict[str, dict[str, list[str]]], columns: list[str]) -> str:
    """Markdown: one row per mechanism, one column per market/mode, the failing facts."""
    lines = ["| mechanism off | " + " | ".join(columns) + " |",
             "| --- | " + " | ".join("---" for _ in columns) + " |"]
    for mech, per in results.items():
        cells = [(", ".join(per[c]) or "none") if c in per else "-" for c in columns]
        lines.append(f"| {mech} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main_ablation(args, markets, modes) -> int:
    """Run the baseline and every ablation per market and mode; print and write the table."""
    from experiments.realism import check, market, measure_many

    results: dict[str, dict[str, list[str]]] = {}
    columns = []
    for name in markets:
        for mode in modes:
            column = f"{name} / {mode}"
            columns.append(column)
            config, params = market(name, mode, params_file=args.params)
            variants = {"(none: full model)": params,
                        **{m: off(params) for m, off in mechanisms(mode).items()}}
            values = measure_many(config, list(variants.values()), args.seeds, args.steps,
                                  args.burn_in)
            for mech, vals in zip(variants, values, strict=True):
                rows = check(vals, market=name, mode=mode, ablated=mech)
                for row in rows:
                    print(json.dumps(row), flush=True)
                failing = [r["name"] for r in rows if r["required"] and not r["pass"]]
                results.setdefault(mech, {})[column] = failing
    text = table(results, columns)
    if args.ablation == "-":
        sys.stdout.write(text)
    else:
        with open(args.ablation, "w") as fh:
            fh.write(text)
    return 0

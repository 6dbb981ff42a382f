"""``--sweep``: an experiment's effects against the size of its main factor
(dose-response) and its verdicts under changed market parameters (sensitivity).

Dose-response. The learners are trained once (calm market, as in the experiment); the
frozen policies are then evaluated at every value of the experiment's main factor (the
stress size), all arms on the same random numbers, with the experiment's own tests at
each value. The stress is a traced market parameter, so every value reuses one compiled
evaluation.

Sensitivity. For each market variant (:data:`VARIANTS`) the whole experiment is run
again, training included, so that the learners are trained in the market they are
evaluated in; a verdict *survives* a variant when the test reaches the same verdict with
an effect of the same sign.

The p-values are Holm-adjusted within each condition's family (one dose, one variant),
as in the experiment; the sweep itself is exploratory and is not corrected as a whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from experiments.compare import REJECT, Finding
from experiments.runner import ExperimentResult, check_range, format_timings, phases
from experiments.settings import market_overrides
from quantmarl.market import default_params
from quantmarl.market.params_io import get_field, resolve_path

__all__ = ["VARIANTS", "Sweep", "SweepDesign", "Variant", "run_sweep"]


@dataclass(frozen=True)
class Variant:
    """A market change for the sensitivity table: ``apply(config) -> config``."""

    label: str
    apply: Callable[[Any], Any]


def _with_params(cfg, pairs: dict[str, float]):
    """``cfg`` with ``pairs`` (MarketParams path -> value) set over its ``market_params``."""
    return dataclasses.replace(cfg, market_params=tuple({**dict(cfg.market_params),
                                                         **pairs}.items()))


def _set(**values: float) -> Callable[[Any], Any]:
    """Set market params (``path=value``, ``__`` for ``.``)."""
    return lambda cfg: _with_params(cfg, {k.replace("__", "."): v for k, v in values.items()})


def _scale(**factors: float) -> Callable[[Any], Any]:
    """Multiply market params (``path=factor``, ``__`` for ``.``), the current value read
    from the market's params with the config's own ``market_params`` set."""
    def apply(cfg):
        base = market_overrides(default_params(cfg.market), cfg.market_params, cfg.market)
        paths = {k.replace("__", "."): f for k, f in factors.items()}
        return _with_params(cfg, {
            path: float(np.asarray(get_field(base, resolve_path(path)))) * f
            for path, f in paths.items()})
    return apply


def _assets(cfg):
    return dataclasses.replace(cfg, market=dataclasses.replace(cfg.market, n_assets=3))


#: the sensitivity table's market variants, by name (``sweep.variants``)
VARIANTS = {
    "value_pull": Variant("background flow pulled to value (value_pull 0.05)",
                          _set(background__value_pull=0.05)),
    "intensity": Variant("background intensity x2", _scale(background__base_intensity=2.0)),
    "fees": Variant("fees 5 bps taker, 2 bps maker", _set(fee_bps=5.0, maker_fee_bps=2.0)),
    "assets": Variant("3 assets (learners on asset 0)", _assets),
}


@dataclass(frozen=True)
class Sweep:
    """What ``--sweep`` runs: the main factor's ``doses`` (each experiment sets its own)
    and the market ``variants`` (names of :data:`VARIANTS`)."""

    doses: tuple[float, ...]
    variants: tuple[str, ...] = tuple(VARIANTS)

    def __post_init__(self) -> None:
        check_range("len(sweep.doses)", len(self.doses), 2, 64)
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"sweep.variants: unknown {unknown}; choose from "
                             f"{', '.join(VARIANTS)}")


@dataclass(frozen=True)
class SweepDesign:
    """What an experiment gives the sweep.

    ``factor``: the main factor's label (units); ``with_dose(config, value) -> config``
    (the evaluation at that size only); ``train(config) -> trained``;
    ``findings(config, trained) -> [Finding]`` (the experiment's Holm-adjusted tests).
    """

    factor: str
    with_dose: Callable[[Any, float], Any]
    train: Callable[[Any], Any]
    findings: Callable[[Any, Any], list[Finding]]


def run_sweep(design: SweepDesign, config: Any, name: str) -> ExperimentResult:
    """The dose-response and sensitivity runs of ``config`` (its ``sweep`` field)."""
    sw = config.sweep
    with phases(2 + len(sw.doses) + len(sw.variants), f"{name} sweep") as phase:
        with phase("train", "train (base market)"):
            base = design.train(config)
        with phase("evaluate", "evaluate (base market)"):
            reference = design.findings(config, base)
        doses = []
        for value in sw.doses:
            with phase(f"{value:g}", "evaluate doses"):
                doses.append((value, design.findings(design.with_dose(config, value), base)))
        variants = []
        for v in sw.variants:
            with phase(v, "variants (train and evaluate)"):
                cfg = VARIANTS[v].apply(config)
                variants.append((VARIANTS[v].label, design.findings(cfg, design.train(cfg))))
    return _result(design, config, reference, doses, variants, phase.seconds)


def _survives(base: Finding, other: Finding) -> bool:
    same_sign = np.sign(base.effect_size) == np.sign(other.effect_size)
    return base.verdict == other.verdict and (base.verdict != REJECT or bool(same_sign))


def _cell(f: Finding) -> str:
    return (f"{f.effect_size:.4g} [{f.ci_low:.3g}, {f.ci_high:.3g}], "
            f"p {f.p_adjusted if f.p_adjusted is not None else f.p_value:.3g}"
            f"{' *' if f.verdict == REJECT else ''}")


def _metrics(groups: list[list[Finding]]) -> list[str]:
    """Every tested metric of ``groups``, in first-seen order (a test an experiment skips
    in some condition, e.g. a breaker that never fired, is missing there)."""
    seen: dict[str, None] = {}
    for found in groups:
        seen.update((f.metric, None) for f in found)
    return list(seen)


def _by_metric(found: list[Finding]) -> dict[str, Finding]:
    return {f.metric: f for f in found}


def _dose_table(design: SweepDesign, doses: list) -> tuple[str, dict]:
    metrics = _metrics([f for _, f in doses])
    rows = [f"| {design.factor} | " + " | ".join(metrics) + " |",
            "|" + " --- |" * (len(metrics) + 1)]
    cols: dict[str, list] = {"dose": [], "metric": [], "effect": [], "ci_low": [],
                             "ci_high": [], "p_adjusted": [], "reject": []}
    for value, found in doses:
        by = _by_metric(found)
        rows.append(f"| {value:g} | " + " | ".join(
            _cell(by[m]) if m in by else "not run" for m in metrics) + " |")
        for f in found:
            for k, x in (("dose", value), ("metric", f.metric), ("effect", f.effect_size),
                         ("ci_low", f.ci_low), ("ci_high", f.ci_high),
                         ("p_adjusted", f.p_adjusted), ("reject", f.verdict == REJECT)):
                cols[k].append(x)
    return "\n".join(rows), {k: np.asarray(v) for k, v in cols.items()}


def _sensitivity_table(reference: list, variants: list) -> tuple[str, dict, int, int]:
    rows = ["| test | base market | " + " | ".join(label for label, _ in variants) + " |",
            "|" + " --- |" * (len(variants) + 2)]
    cols: dict[str, list] = {"variant": [], "metric": [], "effect": [], "p_adjusted": [],
                             "verdict": [], "survives": []}
    kept = total = 0
    for f in reference:
        cells = []
        for label, found in variants:
            g = _by_metric(found).get(f.metric)
            ok = g is not None and _survives(f, g)
            kept, total = kept + ok, total + 1
            cells.append("not run" if g is None else
                         f"{_cell(g)} ({'survives' if ok else 'changes'})")
            if g is not None:
                for k, x in (("variant", label), ("metric", f.metric), ("effect", g.effect_size),
                             ("p_adjusted", g.p_adjusted), ("verdict", g.verdict),
                             ("survives", ok)):
                    cols[k].append(x)
        rows.append(f"| {f.metric} | {_cell(f)} | " + " | ".join(cells) + " |")
    return "\n".join(rows), {k: np.asarray(v) for k, v in cols.items()}, kept, total


def _figure(design: SweepDesign, doses: list) -> Figure:
    metrics = _metrics([f for _, f in doses])
    fig = Figure(figsize=(4.0 * len(metrics), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for metric, ax in zip(metrics, axes, strict=True):
        pts = [(v, by[metric]) for v, f in doses if metric in (by := _by_metric(f))]
        x = np.array([v for v, _ in pts])
        ax.fill_between(x, [f.ci_low for _, f in pts], [f.ci_high for _, f in pts],
                        color="C0", alpha=0.25, label="95% CI")
        ax.plot(x, [f.effect_size for _, f in pts], "o-", color="C0",
                label="mean paired effect")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(design.factor)
        ax.set_title(metric, fontsize=8, wrap=True)
        ax.legend(loc="best", fontsize=7)
    return fig


def _result(design: SweepDesign, config: Any, reference: list, doses: list, variants: list,
            timings: dict) -> ExperimentResult:
    dose_md, dose_cols = _dose_table(design, doses)
    sens_md, sens_cols, kept, total = _sensitivity_table(reference, variants)
    notes = (
        f"Dose-response: the learners trained once per seed ({config.seeds} seeds), every "
        f"arm evaluated at each {design.factor} on the same random numbers. Each cell: mean "
        "paired effect (a - b) [95% CI], Holm-adjusted p within that dose's family; * "
        "rejects H0 at alpha " f"{config.alpha:g}.\n\n" + dose_md + "\n\n"
        "Sensitivity: the whole experiment (training included) in each changed market. A "
        "verdict survives when the variant reaches the same verdict, with an effect of the "
        f"same sign where H0 is rejected. **{kept} of {total}** (test, variant) verdicts "
        "survive.\n\n" + sens_md + "\n\n"
        "The sweep is exploratory: p-values are adjusted within each dose's or variant's "
        "family, not across the sweep.\n\n" + format_timings(timings))
    return ExperimentResult(  # the findings: the experiment's own tests in the base market
        findings=reference, per_seed={}, notes=notes,
        figures=[("dose_response.png", _figure(design, doses),
                  f"Mean paired effect with its 95% CI against {design.factor}")],
        tables={"dose_response": dose_cols, "sensitivity": sens_cols})

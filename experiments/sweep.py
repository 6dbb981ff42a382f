"""``--sweep``: an experiment's effects against its main factors (dose-response) and its
verdicts under changed market parameters (sensitivity).

Dose-response, three factors:

- **stress size** (``sweep.doses``): the learners are trained once (calm market, as in
  the experiment); the frozen policies are then evaluated at every size, all arms on the
  same random numbers, with the experiment's own tests at each size. The size is a
  traced market parameter: ``sweep.batch`` sizes are evaluated in one compiled call,
  ``jax.vmap`` over their stacked params (0: all at once).
- **number of learners** (``sweep.learners``) and **training budget** (``sweep.budgets``,
  multiples of ``ppo.iterations``): these change array shapes and the training loop's
  length, so each value is its own compiled training, then the experiment's evaluation.

Sensitivity. For each market variant (:data:`VARIANTS`) the whole experiment is run
again, training included, so that the learners are trained in the market they are
evaluated in; a verdict *survives* a variant when the test reaches the same verdict with
an effect of the same sign.

Every condition also gets the learners' training verdict (trained or not, from the
experiment's evaluation episodes). The p-values are Holm-adjusted within each
condition's family (one dose, one variant), as in the experiment; the sweep itself is
exploratory and is not corrected as a whole.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from experiments import evaluation
from experiments.compare import REJECT, Finding
from experiments.runner import ExperimentResult, check_range, format_timings, phases
from experiments.settings import market_overrides
from quantmarl.market import default_params
from quantmarl.market.params_io import get_field, resolve_path

__all__ = ["VARIANTS", "Series", "Sweep", "SweepDesign", "Variant", "run_sweep"]


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
    """What ``--sweep`` runs: the stress ``doses`` (each experiment sets its own), the
    ``learners`` counts and training ``budgets`` (multiples of ``ppo.iterations``) to
    retrain with, the market ``variants`` (names of :data:`VARIANTS`) and the doses per
    compiled evaluation call, ``batch`` (0: all)."""

    doses: tuple[float, ...]
    learners: tuple[int, ...] = ()
    budgets: tuple[float, ...] = (0.25, 0.5, 2.0)
    variants: tuple[str, ...] = tuple(VARIANTS)
    batch: int = 0

    def __post_init__(self) -> None:
        check_range("len(sweep.doses)", len(self.doses), 2, 64)
        check_range("len(sweep.learners)", len(self.learners), 0, 16)
        for n in self.learners:
            check_range("sweep.learners[]", n, 1, 256)
        check_range("len(sweep.budgets)", len(self.budgets), 0, 16)
        for b in self.budgets:
            check_range("sweep.budgets[]", b, 0.0, 16.0, lo_open=True)
        check_range("sweep.batch", self.batch, 0, 64)
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"sweep.variants: unknown {unknown}; choose from "
                             f"{', '.join(VARIANTS)}")


@dataclass(frozen=True)
class SweepDesign:
    """What an experiment gives the sweep.

    ``factor``: the stress size's label (units); ``with_dose(config, value) -> config``
    (the evaluation at that size only); ``train(config) -> trained``;
    ``conditions(config, trainer) -> [MarketParams]`` (the evaluation's market params);
    ``findings(config, outputs) -> ([Finding], training verdict)`` from the arms'
    outputs under each condition (an iterator of ``(wealth, records)``; the findings
    are the experiment's Holm-adjusted tests).
    """

    factor: str
    with_dose: Callable[[Any, float], Any]
    train: Callable[[Any], Any]
    conditions: Callable[[Any, Any], list]
    findings: Callable[[Any, Any], tuple[list[Finding], dict]]


@dataclass(frozen=True)
class Series:
    """One dose-response factor: its ``label`` (x axis), ``name`` (file stem) and
    ``points``: ``(value, findings, training verdict)`` in sweep order."""

    label: str
    name: str
    points: list[tuple[float, list[Finding], dict]]


def _outputs(design: SweepDesign, cfg: Any, trained: Any):
    return evaluation.evaluate_trained(trained, design.conditions(cfg, trained.trainer),
                                       cfg.eval_episodes, cfg.placebo)


def _trained_findings(design: SweepDesign, cfg: Any) -> tuple[list[Finding], dict]:
    return design.findings(cfg, _outputs(design, cfg, design.train(cfg)))


def _dose_points(design: SweepDesign, config: Any, trained: Any) -> list:
    """Every dose's findings, ``sweep.batch`` doses per vmapped evaluation call."""
    cfgs = [design.with_dose(config, v) for v in config.sweep.doses]
    per_dose = [design.conditions(c, trained.trainer) for c in cfgs]
    outputs = evaluation.evaluate_conditions(
        trained.trainer, trained.out.runner.params, trained.k_eval,
        [p for ps in per_dose for p in ps], config.eval_episodes,
        evaluation.arm_policies(config.placebo),
        config.sweep.batch or sum(map(len, per_dose)))
    return [(v, *design.findings(c, itertools.islice(outputs, len(ps))))
            for v, c, ps in zip(config.sweep.doses, cfgs, per_dose, strict=True)]


def _budget(config: Any, factor: float) -> Any:
    return dataclasses.replace(config, ppo=dataclasses.replace(
        config.ppo, iterations=max(1, round(factor * config.ppo.iterations))))


def run_sweep(design: SweepDesign, config: Any, name: str) -> ExperimentResult:
    """The dose-response and sensitivity runs of ``config`` (its ``sweep`` field)."""
    sw = config.sweep
    total = 3 + len(sw.learners) + len(sw.budgets) + len(sw.variants)
    with phases(total, f"{name} sweep") as phase:
        with phase("train", "train (base market)"):
            base = design.train(config)
        with phase("evaluate", "evaluate (base market)"):
            reference, verdict = design.findings(config, _outputs(design, config, base))
        with phase("doses", "evaluate doses (vmapped)"):
            doses = _dose_points(design, config, base)
        learners = [(config.learners, reference, verdict)]
        for n in sw.learners:
            with phase(f"{n} learners", "learners (train and evaluate)"):
                learners.append((n, *_trained_findings(
                    design, dataclasses.replace(config, learners=n))))
        budgets = [(config.ppo.iterations, reference, verdict)]
        for f in sw.budgets:
            cfg = _budget(config, f)
            with phase(f"{cfg.ppo.iterations} updates", "budgets (train and evaluate)"):
                budgets.append((cfg.ppo.iterations, *_trained_findings(design, cfg)))
        variants = []
        for v in sw.variants:
            with phase(v, "variants (train and evaluate)"):
                variants.append((VARIANTS[v].label,
                                 *_trained_findings(design, VARIANTS[v].apply(config))))
    series = [Series(design.factor, "dose_response", doses),
              Series("learners (slots)", "learners", sorted(learners, key=lambda p: p[0])),
              Series("training budget (PPO updates)", "budget",
                     sorted(budgets, key=lambda p: p[0]))]
    return _result(design, config, (reference, verdict), series, variants, phase.seconds)


def _survives(base: Finding, other: Finding) -> bool:
    same_sign = np.sign(base.effect_size) == np.sign(other.effect_size)
    return base.verdict == other.verdict and (base.verdict != REJECT or bool(same_sign))


def _cell(f: Finding) -> str:
    return (f"{f.effect_size:.4g} [{f.ci_low:.3g}, {f.ci_high:.3g}], "
            f"p {f.p_adjusted if f.p_adjusted is not None else f.p_value:.3g}"
            f"{' *' if f.verdict == REJECT else ''}")


def _trained(verdict: dict) -> str:
    return "yes" if verdict["trained"] else "no"


def _metrics(groups: list[list[Finding]]) -> list[str]:
    """Every tested metric of ``groups``, in first-seen order (a test an experiment skips
    in some condition, e.g. a breaker that never fired, is missing there)."""
    seen: dict[str, None] = {}
    for found in groups:
        seen.update((f.metric, None) for f in found)
    return list(seen)


def _by_metric(found: list[Finding]) -> dict[str, Finding]:
    return {f.metric: f for f in found}


def _series_table(series: Series) -> tuple[str, dict]:
    """Markdown (one row per value) and CSV columns (one row per value and test)."""
    metrics = _metrics([f for _, f, _ in series.points])
    rows = [f"| {series.label} | learners trained | " + " | ".join(metrics) + " |",
            "|" + " --- |" * (len(metrics) + 2)]
    cols: dict[str, list] = {"value": [], "trained": [], "metric": [], "effect": [],
                             "ci_low": [], "ci_high": [], "p_adjusted": [], "reject": []}
    for value, found, verdict in series.points:
        by = _by_metric(found)
        rows.append(f"| {value:g} | {_trained(verdict)} | " + " | ".join(
            _cell(by[m]) if m in by else "not run" for m in metrics) + " |")
        for f in found:
            for k, x in (("value", value), ("trained", verdict["trained"]),
                         ("metric", f.metric), ("effect", f.effect_size),
                         ("ci_low", f.ci_low), ("ci_high", f.ci_high),
                         ("p_adjusted", f.p_adjusted), ("reject", f.verdict == REJECT)):
                cols[k].append(x)
    return "\n".join(rows), {k: np.asarray(v) for k, v in cols.items()}


def _sensitivity_table(reference: list, variants: list) -> tuple[str, dict, int, int]:
    rows = ["| test | base market | " + " | ".join(label for label, *_ in variants) + " |",
            "|" + " --- |" * (len(variants) + 2),
            "| learners trained | | " + " | ".join(_trained(v) for *_, v in variants) + " |"]
    cols: dict[str, list] = {"variant": [], "metric": [], "effect": [], "p_adjusted": [],
                             "verdict": [], "survives": []}
    kept = total = 0
    for f in reference:
        cells = []
        for label, found, _ in variants:
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


def _figure(series: Series) -> Figure:
    metrics = _metrics([f for _, f, _ in series.points])
    fig = Figure(figsize=(4.0 * len(metrics), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for metric, ax in zip(metrics, axes, strict=True):
        pts = [(v, by[metric]) for v, f, _ in series.points if metric in (by := _by_metric(f))]
        x = np.array([v for v, _ in pts])
        ax.fill_between(x, [f.ci_low for _, f in pts], [f.ci_high for _, f in pts],
                        color="C0", alpha=0.25, label="95% CI")
        ax.plot(x, [f.effect_size for _, f in pts], "o-", color="C0",
                label="mean paired effect")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(series.label)
        ax.set_title(metric, fontsize=8, wrap=True)
        ax.legend(loc="best", fontsize=7)
    return fig


_HOW = {
    "dose_response": "the learners trained once per seed ({seeds} seeds), every arm "
                     "evaluated at each {label} on the same random numbers",
    "learners": "the experiment retrained with each number of learner slots",
    "budget": "the experiment retrained with each number of PPO updates",
}


def _result(design: SweepDesign, config: Any, base: tuple, series: list[Series],
            variants: list, timings: dict) -> ExperimentResult:
    reference, _ = base
    parts, tables, figures = [], {}, []
    for sr in series:
        md, cols = _series_table(sr)
        how = _HOW[sr.name].format(seeds=config.seeds, label=sr.label)
        parts.append(f"Dose-response against {sr.label}: {how}.\n\n{md}")
        tables[sr.name] = cols
        if len(sr.points) > 1:
            figures.append((f"{sr.name}.png", _figure(sr),
                            f"Mean paired effect with its 95% CI against {sr.label}"))
    sens_md, tables["sensitivity"], kept, total = _sensitivity_table(reference, variants)
    notes = (
        "Each cell: mean paired effect (a - b) [95% CI], Holm-adjusted p within that "
        f"condition's family; * rejects H0 at alpha {config.alpha:g}. \"learners "
        "trained\": the training verdict (greedy beats random and hold-only on PnL and "
        "Sharpe) on that condition's evaluation episodes.\n\n" + "\n\n".join(parts) + "\n\n"
        "Sensitivity: the whole experiment (training included) in each changed market. A "
        "verdict survives when the variant reaches the same verdict, with an effect of the "
        f"same sign where H0 is rejected. **{kept} of {total}** (test, variant) verdicts "
        "survive.\n\n" + sens_md + "\n\n"
        "The sweep is exploratory: p-values are adjusted within each condition's family, "
        "not across the sweep.\n\n" + format_timings(timings))
    return ExperimentResult(  # the findings: the experiment's own tests in the base market
        findings=reference, per_seed={}, notes=notes, figures=figures, tables=tables)

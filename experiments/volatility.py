"""Do learning traders amplify a stress event beyond what the event itself scripts, and
does a circuit breaker change that?

Design. ``learners`` PPO agents of ``agent_type`` (asset 0) are trained per seed in a
calm market, then evaluated frozen under each stress scenario (flash crash, volatility
spike, liquidity shock, sell program at step ``start``), with the circuit breaker off and
on. The flash crash scripts its price path; the sell program scripts only a quantity
(market sells of ``magnitude`` lots per step), so how far the price falls and how it
recovers is up to the market and the agents in it (an endogenous stress). Every
evaluation episode is played by five arms in the learner slots on the same random
numbers (only the slots' actions differ): the learners acting greedily (the treatment)
and sampling, the scripted rule of the learner type in the learners' own action and
observation space (the control), uniform-random actions and empty slots.

Measures per episode on asset 0's close (:mod:`experiments.stress_metrics`): the log
amplification ``log std(post) - log std(pre)`` of log returns with both parts; the
overshoot of the trough below the level the event schedules (``1 - magnitude`` of the
pre-event level for a crash, the pre-event level otherwise); the drawdown and the
volatility once the scheduled steps are over; and the recovery time (back within
``recovery.band`` of the pre-event level for ``recovery.hold`` steps), right-censored
at the episode end and analysed as survival data: Kaplan-Meier curves per arm, and per
seed the restricted mean (RMST) to the episode end, compared paired by seed.

Tests (Holm over the family): per scenario with the breaker off, learners (greedy) -
scripted on the log amplification and on the overshoot; for the flash crash and the sell
program, on the RMST of recovery; per scenario, breaker on - off for the learners (greedy) on the
overshoot, included only where the breaker changed some seed's outcome.

    python -m experiments.volatility [--quick] [--config FILE] [--seeds N] [--out DIR]
        [--placebo] [--sweep]

``--sweep`` (:mod:`experiments.sweep`): the crash's tests against its size
(``sweep.doses``, the crash alone) and every verdict in changed markets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from matplotlib.figure import Figure

from experiments import arms, compare, evaluation, training
from experiments import stress_metrics as sm
from experiments.arm_plots import SHOWN, km_figure
from experiments.runner import (
    ExperimentResult,
    ExperimentSpec,
    check_range,
    format_timings,
    holm_adjust,
    main,
    phases,
)
from experiments.settings import (
    PPOSettings,
    check_market,
    check_market_params,
    experiment_market,
)
from experiments.sweep import Sweep, SweepDesign
from quantmarl.market import MarketConfig
from quantmarl.quant import series
from quantmarl.quant.survival import rmst
from quantmarl.rl.history import curve_summary, curve_text, learning_curves


@dataclass(frozen=True)
class Scenario:
    """One stress event on all assets, starting at the experiment's ``start`` step."""

    kind: Literal["flash_crash", "volatility_spike", "liquidity_shock",
                  "sell_program"] = "flash_crash"
    # crash: fractional move; spike / shock: multiplier (>= 1); sell program: lots per step
    magnitude: float = 0.1
    duration: int = 5  # steps

    def __post_init__(self) -> None:
        evaluation.check_event(f"scenarios[] ({self.kind})", self.kind, self.magnitude,
                               self.duration)


@dataclass(frozen=True)
class Breaker:
    """Circuit-breaker rules of the "breaker on" conditions (see ``events.breaker_rules``)."""

    threshold: float = 0.05  # fractional move over ``window`` steps that halts trading
    window: int = 5  # steps
    halt_steps: int = 10  # steps

    def __post_init__(self) -> None:
        check_range("breaker.threshold", self.threshold, 0.0, 1.0, lo_open=True)
        check_range("breaker.window", self.window, 1, 32)
        check_range("breaker.halt_steps", self.halt_steps, 1)


@dataclass(frozen=True)
class Recovery:
    """Recovery-time definition (``quant.market_quality.recovery_time``)."""

    band: float = 0.02  # relative distance to the pre-shock level that counts as recovered
    pre_window: int = 20  # steps before the shock averaged into the reference level
    hold: int = 5  # consecutive steps inside the band

    def __post_init__(self) -> None:
        check_range("recovery.band", self.band, 0.0, 1.0, lo_open=True)
        check_range("recovery.pre_window", self.pre_window, 1)
        check_range("recovery.hold", self.hold, 1)


Direction = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class Directions:
    """H1 of the tests, for ``a - b`` as the metric names it, fixed before the run."""

    learners_vs_scripted: Direction = "two-sided"  # every learners (greedy) - scripted test
    breaker: Direction = "two-sided"  # overshoot, breaker on - off


@dataclass(frozen=True)
class VolatilityConfig:
    QUICK: ClassVar[dict] = {
        "seeds": 8, "eval_episodes": 4, "market.episode_length": 150, "start": 70,
        "before": 40, "after": 30, "ppo.iterations": 50, "ppo.n_envs": 16, "ppo.n_steps": 32,
    }

    seeds: int = 32
    seed: int = 0
    alpha: float = 0.05
    agent_type: Literal["momentum_trader", "market_maker", "trader"] = "momentum_trader"
    learners: int = 8  # learner slots (one shared policy), on asset 0
    market: MarketConfig = field(default_factory=lambda: experiment_market(
        n_assets=1))
    ppo: PPOSettings = field(default_factory=lambda: PPOSettings(
        n_envs=32, n_steps=32, iterations=120, update_epochs=2, n_minibatches=4,
        hidden=(64, 64)))
    scenarios: tuple[Scenario, ...] = (
        Scenario("flash_crash", 0.1, 5), Scenario("volatility_spike", 2.0, 30),
        Scenario("liquidity_shock", 1.5, 30), Scenario("sell_program", 200.0, 10))
    start: int = 100  # step at which every scenario's event begins
    before: int = 50  # pre-shock volatility window, steps
    after: int = 30  # post-shock volatility window, steps
    breaker: Breaker = field(default_factory=Breaker)
    recovery: Recovery = field(default_factory=Recovery)
    directions: Directions = field(default_factory=Directions)
    eval_episodes: int = 4  # evaluation episodes per seed and condition
    placebo: bool = False  # A/A run: every compared arm is the random policy (evaluation)
    # (MarketParams path, value) set over the market's default params
    market_params: tuple[tuple[str, float], ...] = ()
    sweep: Sweep = field(default_factory=lambda: Sweep(  # --sweep: flash crash sizes
        doses=(0.02, 0.05, 0.1, 0.15, 0.2), learners=(4, 16)))

    def __post_init__(self) -> None:
        check_market(self.market)
        check_market_params(self.market, self.market_params)
        for dose in self.sweep.doses:
            check_range("sweep.doses[]", dose, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("alpha", self.alpha, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("learners", self.learners, 1, 256)
        check_range("eval_episodes", self.eval_episodes, 1, 1024)
        if not self.scenarios:
            raise ValueError("scenarios must list at least one scenario, got []")
        kinds = [s.kind for s in self.scenarios]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"scenarios must not repeat a kind, got {kinds}")
        check_range("before", self.before, 3)
        check_range("after", self.after, 3)
        check_range("start - before", self.start - self.before, 1)
        check_range("start - recovery.pre_window", self.start - self.recovery.pre_window, 0)
        check_range("start + after", self.start + self.after, None,
                    self.market.episode_length - 1)
        check_range("breaker.window", self.breaker.window, 1, 32)
        longest = max(sc.duration for sc in self.scenarios)
        check_range("start + scenarios[].duration + after", self.start + longest + self.after,
                    None, self.market.episode_length - 1)


METRICS = {  # per-seed metric -> row label in the report's tables
    "log_amp": "log amplification (log post std - log pre std)",
    "pre_sd": "pre-event std of log returns",
    "post_sd": "post-event std of log returns",
    "overshoot": "overshoot below the scheduled level (fraction of pre-event level)",
    "drawdown": "drawdown after the scheduled steps (fraction of peak)",
    "vol_after": "std of log returns after the scheduled steps",
    "rmst": "recovery RMST to the episode end, steps",
    "censored": "share of episodes not recovered by the end (censored)",
    "halted": "share of steps halted",
}


def _metrics(records, cfg: VolatilityConfig, sc: Scenario) -> dict[str, dict]:
    """Per arm: per-seed metrics [S] (:data:`METRICS`), recovery times and flags [S, E]
    and the mean normalised close path [T]."""
    close = np.asarray(records.close[..., 0], np.float64)  # [P, S, E, T] ticks
    halted = np.asarray(records.halted[..., 0], np.float64)
    ratio, pre, post = sm.log_amplification(close, cfg.start - 1, cfg.before, cfg.after)
    done = cfg.start + sc.duration  # first step after the scheduled ones
    per_episode = {
        "log_amp": ratio, "pre_sd": pre, "post_sd": post,
        "overshoot": sm.overshoot(close, cfg.start, cfg.recovery.pre_window, cfg.after,
                                  sc.magnitude if sc.kind == "flash_crash" else 0.0),
        "drawdown": sm.drawdown_after(close, done),
        "vol_after": sm.volatility_after(close, done - 1, cfg.after),
        "halted": halted.mean(axis=-1),
    }
    steps, observed = sm.recovery(close, cfg.start, *astuple(cfg.recovery))
    tau = close.shape[-1] - cfg.start  # the longest possible follow-up
    ref = sm.reference_level(close, cfg.start, 5)[..., None]
    out = {}
    for i, arm in enumerate(evaluation.ARMS):
        m = {k: series.nanmean(v[i], axis=1) for k, v in per_episode.items()}
        m["rmst"] = np.array([rmst(steps[i, s], observed[i, s], tau)
                              for s in range(steps.shape[1])])
        m["censored"] = 1.0 - observed[i].mean(axis=1)
        out[arm] = {**m, "steps": steps[i], "observed": observed[i],
                    "path": (close[i] / ref[i]).mean(axis=(0, 1))}
    return out


def train(config: VolatilityConfig) -> training.Trained:
    """The learners of every seed, trained in the calm market."""
    return training.train_learners(config, config.agent_type)


def _labels(config: VolatilityConfig) -> list[tuple[Scenario, bool]]:
    """The evaluation's conditions: every scenario, breaker off then on."""
    return [(sc, on) for sc in config.scenarios for on in (False, True)]


def conditions(config: VolatilityConfig, trainer) -> list:
    """The market params of every (scenario, breaker on) of :func:`_labels`."""
    brk = config.breaker
    rules = {"threshold": brk.threshold, "window": brk.window, "halt_steps": brk.halt_steps}
    return [evaluation.stressed(
        trainer.env_params.market, trainer.env.config.market,
        [evaluation.EVENTS[sc.kind](sc.magnitude, sc.duration, config.start)],
        rules if on else None) for sc, on in _labels(config)]


def measure(config: VolatilityConfig, outputs) -> tuple[dict, dict]:
    """(metrics by (kind, breaker on), training verdict on the first scenario with the
    breaker off) from the arms' ``(wealth, records)`` under each of :func:`conditions`
    (an iterator, consumed one condition at a time)."""
    res, verdict = {}, None
    for (sc, on), (wealth, rec) in zip(_labels(config), outputs, strict=True):
        res[sc.kind, on] = _metrics(rec, config, sc)
        if verdict is None:
            verdict = arms.training_verdict(wealth, evaluation.ARMS, config.learners)
    return res, verdict


def evaluate(config: VolatilityConfig, trained: training.Trained) -> tuple[dict, dict]:
    """Every arm under every scenario x breaker: (metrics by (kind, breaker on), verdict)."""
    return measure(config, evaluation.evaluate_trained(trained, conditions(
        config, trained.trainer), config.eval_episodes, config.placebo))


def run(config: VolatilityConfig, out_dir: Path) -> ExperimentResult:
    """Train, evaluate every arm under every scenario x breaker, test, plot."""
    with phases(2, "volatility") as phase:
        with phase("train"):
            trained = train(config)
        with phase("evaluate arms (all conditions)"):
            res, verdict = evaluate(config, trained)
    return _result(config, res, verdict, trained.out.metrics, phase.seconds)


def _findings(cfg: VolatilityConfig, res: dict) -> tuple[list, list[str]]:
    a, d = cfg.alpha, cfg.directions
    found, unchanged = [], []
    for sc in cfg.scenarios:
        off = res[sc.kind, False]
        for key, what in (("log_amp", "log volatility amplification"),
                          ("overshoot", "overshoot below the scheduled level")):
            found.append(compare.paired_finding(
                off["greedy"][key], off["scripted"][key],
                f"{sc.kind}: {what} differs with learners (greedy) vs the scripted rule "
                "(breaker off)", f"{what}, {sc.kind} (learners greedy - scripted)",
                d.learners_vs_scripted, alpha=a))
        if sc.kind in ("flash_crash", "sell_program"):  # the price falls: does it come back?
            found.append(compare.paired_finding(
                off["greedy"]["rmst"], off["scripted"]["rmst"],
                f"{sc.kind}: recovery RMST differs with learners (greedy) vs the scripted "
                "rule (breaker off)", f"recovery RMST, steps, {sc.kind} (learners greedy - "
                "scripted)", d.learners_vs_scripted, alpha=a))
    for sc in cfg.scenarios:
        on, off = res[sc.kind, True]["greedy"], res[sc.kind, False]["greedy"]
        diff = on["overshoot"] - off["overshoot"]
        if not np.any(np.abs(diff[np.isfinite(diff)]) > 0):
            unchanged.append(sc.kind)
            continue
        found.append(compare.paired_finding(
            on["overshoot"], off["overshoot"], f"{sc.kind}: the circuit breaker changes the "
            "overshoot (learners greedy)", f"overshoot, {sc.kind} (breaker on - off)",
            d.breaker, alpha=a))
    return holm_adjust(found), unchanged


def _tables(cfg: VolatilityConfig, res: dict) -> tuple[str, dict]:
    md, rows = [], {k: [] for k in ("scenario", "breaker", "arm", *METRICS)}
    for sc in cfg.scenarios:
        md.append(f"**{sc.kind}** ({sc.magnitude:g}, {sc.duration} steps), breaker off:\n\n"
                  + arms.arm_table({label: {a: m[k] for a, m in res[sc.kind, False].items()}
                                    for k, label in METRICS.items()}))
        for on in (False, True):
            for arm, m in res[sc.kind, on].items():
                rows["scenario"].append(sc.kind)
                rows["breaker"].append("on" if on else "off")
                rows["arm"].append(arm)
                for k in METRICS:
                    rows[k].append(float(series.nanmean(m[k])))
    return "\n\n".join(md), {k: np.asarray(v) for k, v in rows.items()}


def _result(cfg: VolatilityConfig, res: dict, verdict: dict, metrics: dict,
            timings: dict) -> ExperimentResult:
    findings, unchanged = _findings(cfg, res)
    tables_md, conditions = _tables(cfg, res)
    per_seed = {f"{k}_{arm}_{kind}_{'on' if on else 'off'}": m[k]
                for (kind, on), per_arm in res.items() for arm, m in per_arm.items()
                for k in ("log_amp", "overshoot", "rmst")}
    rc = cfg.recovery
    placebo = evaluation.placebo_note(cfg.placebo)
    notes = placebo + (
        f"Learners: {cfg.learners} PPO `{cfg.agent_type}` agents on asset 0 of a "
        f"{cfg.market.n_assets}-asset {cfg.market.clearing} market, trained "
        f"{cfg.ppo.iterations} updates per seed in a calm market, evaluated frozen in "
        f"{cfg.eval_episodes} episodes per seed and condition of {cfg.market.episode_length}"
        f" steps; each event starts at step {cfg.start} on all assets. Arms (same slots, "
        "same random numbers, paired by seed): "
        + ", ".join(evaluation.ARM_LABELS[a] for a in evaluation.ARMS) + ". Breaker on: "
        f"halt {cfg.breaker.halt_steps} steps after a {cfg.breaker.threshold:.0%} move "
        f"within {cfg.breaker.window} steps, then reopen with a call auction of the queued "
        "orders.\n\n" + arms.verdict_text(verdict, cfg.agent_type, f"of the "
                                           f"`{cfg.scenarios[0].kind}` scenario, breaker off")
        + "\n\n"
        f"Windows: pre {cfg.before} steps before the event, post {cfg.after} steps from it; "
        "drawdown and volatility after the scheduled steps start once the event's scheduled "
        f"steps are over. Recovery: back within {rc.band:.0%} of the mean close of the "
        f"{rc.pre_window} pre-event steps for {rc.hold} steps; an episode that has not "
        "recovered by its end is censored there. The RMST is the area under the "
        "Kaplan-Meier curve of a seed's episodes up to the longest possible follow-up; "
        "with every censoring at that horizon it equals the mean of min(time, horizon), "
        "which is what it estimates: the expected recovery time counting at most the "
        "horizon. Per arm, mean over seeds [95% t interval]:\n\n" + tables_md + "\n\n"
        + (f"The breaker changed no seed's overshoot under {', '.join(unchanged)}; those "
           "identically-zero comparisons are not tested.\n\n" if unchanged else "")
        + curve_text(curve_summary(metrics)) + "\n\n" + format_timings(timings))
    figures = [
        ("price_paths.png", _paths_figure(cfg, res),
         "Mean close / pre-event close per arm, breaker off (event window shaded)"),
        ("recovery_km.png", km_figure([(f"{sc.kind} ({sc.magnitude:g})", res[sc.kind, False])
                                       for sc in cfg.scenarios], "steps after the event"),
         "Kaplan-Meier curves of the recovery time per arm, breaker off (all seeds' "
         "episodes; + marks censoring)"),
        ("learning_curves.png", learning_curves(metrics, "PPO training (calm market)"),
         "PPO learning curves over seeds (training before evaluation)"),
    ]
    return ExperimentResult(findings=findings, per_seed=per_seed, figures=figures, notes=notes,
                            tables={"conditions": conditions}, limitations=LIMITATIONS)


LIMITATIONS = """\
- The learners train in a calm market on the experiment's short PPO budget (`ppo`); the
  training verdict above says whether they beat random and hold-only.
- The crash, spike and shock script a price path or a spread (overshoot, drawdown and
  volatility after them measure what the agents add); the sell program scripts only a
  quantity. No liquidity-withdrawal cascade with no scripted path is tested.
- Every censoring is at the episode end, so the RMST equals the mean of min(recovery,
  horizon): a restricted mean, not a mean recovery time.
- With few seeds a permutation test has a floor (two-sided 2 / 2^n for n seeds), and
  Holm multiplies it: a `--quick` run (8 seeds) is a smoke test."""


def _paths_figure(cfg: VolatilityConfig, res: dict) -> Figure:
    n = len(cfg.scenarios)
    fig = Figure(figsize=(4.2 * n, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, sharey=False))
    lo, hi = max(cfg.start - cfg.before, 0), min(cfg.start + 3 * cfg.after,
                                                 cfg.market.episode_length)
    t = np.arange(lo, hi)
    for ax, sc in zip(axes, cfg.scenarios, strict=True):
        for arm, color in SHOWN.items():
            ax.plot(t, res[sc.kind, False][arm]["path"][lo:hi], color=color,
                    label=evaluation.ARM_LABELS[arm])
        ax.axvspan(cfg.start - 0.5, cfg.start + sc.duration - 0.5, color="C3", alpha=0.15)
        ax.set_title(f"{sc.kind} ({sc.magnitude:g})", fontsize=10)
        ax.set_xlabel("step")
    axes[0].set_ylabel("close / pre-event close")
    axes[0].legend(fontsize=7)
    return fig


def _crash_only(cfg: VolatilityConfig, size: float) -> VolatilityConfig:
    crash = next((sc for sc in cfg.scenarios if sc.kind == "flash_crash"), Scenario())
    return dataclasses.replace(cfg, scenarios=(dataclasses.replace(crash, magnitude=size),))


def _tested(cfg, metrics: dict, verdict: dict) -> tuple[list, dict]:
    """The sweep's view of one condition: (the tests, the training verdict)."""
    return _findings(cfg, metrics)[0], verdict


SWEEP = SweepDesign(
    factor="crash size (fractional move)", with_dose=_crash_only, train=train,
    conditions=conditions,
    findings=lambda cfg, outputs: _tested(cfg, *measure(cfg, outputs)))

SPEC = ExperimentSpec(
    name="volatility", title="Stress amplification with learning traders against a scripted "
    "rule in the same slots, breaker off and on",
    config_cls=VolatilityConfig, run=run, description=__doc__.split("\n")[0], sweep=SWEEP)

if __name__ == "__main__":
    raise SystemExit(main(SPEC))

"""Do RL agents amplify volatility under stress, and does a circuit breaker change that?

Design. Treatment: ``learners`` PPO agents of ``agent_type`` (trading asset 0),
trained per seed in a calm market, then replayed frozen under each stress
scenario (flash crash, volatility spike, liquidity shock at step ``start``),
with the circuit breaker off and on. Control: the same market and seeds with the
learner slots run by the matching rule-based behaviour, same random numbers per
episode. Six conditions (3 scenarios x breaker off/on) per market; each condition
is one compiled call over all seeds (the compiled function is shared).

Metrics per seed (means over episodes), on asset 0's close-to-close log returns:
volatility amplification ``std(r[t0 : t0 + after]) / std(r[t0 - before : t0])``
(``quant.market_quality.volatility_amplification``) and recovery time: steps until
the close is back within ``recovery.band`` of its pre-shock level for
``recovery.hold`` steps, right-censored at the episode end
(``quant.market_quality.recovery_time``).

    python -m experiments.volatility [--quick] [--config FILE] [--seeds N] [--out DIR]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import jax
import numpy as np
from matplotlib.figure import Figure

from experiments import compare, control, evaluation, settings, training
from experiments.runner import (
    ExperimentResult,
    ExperimentSpec,
    check_range,
    format_timings,
    holm_adjust,
    main,
    phases,
)
from experiments.settings import PPOSettings, check_market, experiment_market
from quantmarl.market import MarketConfig
from quantmarl.quant import market_quality as mq
from quantmarl.quant import series
from quantmarl.rl.history import curve_summary, curve_text, learning_curves


@dataclass(frozen=True)
class Scenario:
    """One stress event on all assets, starting at the experiment's ``start`` step."""

    kind: Literal["flash_crash", "volatility_spike", "liquidity_shock"] = "flash_crash"
    magnitude: float = 0.1  # crash: fractional move; spike / shock: multiplier (>= 1)
    duration: int = 5  # steps

    def __post_init__(self) -> None:
        if self.kind == "flash_crash":
            check_range("scenarios[].magnitude", self.magnitude, 0.0, 1.0, lo_open=True,
                        hi_open=True)
        else:
            check_range("scenarios[].magnitude", self.magnitude, 1.0, 100.0)
        check_range("scenarios[].duration", self.duration, 1)


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
        Scenario("liquidity_shock", 1.5, 30))
    start: int = 100  # step at which every scenario's event begins
    before: int = 50  # pre-shock volatility window, steps
    after: int = 30  # post-shock volatility window, steps
    breaker: Breaker = field(default_factory=Breaker)
    recovery: Recovery = field(default_factory=Recovery)
    eval_episodes: int = 4  # evaluation episodes per seed and condition

    def __post_init__(self) -> None:
        check_market(self.market)
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


def _metrics(records, cfg: VolatilityConfig) -> dict[str, np.ndarray]:
    """Per-seed amplification and recovery of asset 0: records [S, E, T, ...] -> [S] each."""
    close = np.asarray(records.close[..., 0], np.float64)  # [S, E, T] ticks
    r = np.diff(np.log(close), axis=-1)  # [S, E, T-1]; r[i]: step i -> i + 1
    amp = jax.vmap(jax.vmap(lambda x: mq.volatility_amplification(
        x, cfg.start - 1, cfg.before, cfg.after)))(r)
    rc = cfg.recovery
    rec = jax.vmap(jax.vmap(lambda p: mq.recovery_time(
        p, cfg.start, rc.band, rc.pre_window, rc.hold)))(close)
    amp = np.asarray(amp, np.float64)
    amp = np.where(np.isfinite(amp), amp, np.nan)  # no pre-shock variation: undefined
    return {
        "amp": series.nanmean(amp, axis=1),
        "recovery": np.asarray(rec.steps, np.float64).mean(axis=1),
        "censored": np.asarray(rec.censored, np.float64).mean(axis=1),
        "halted": np.asarray(records.halted[..., 0], np.float64).mean(axis=(1, 2)),
        "path": (close / close[..., max(cfg.start - 5, 0): cfg.start].mean(-1, keepdims=True)
                 ).mean(axis=(0, 1)),  # [T] mean normalised price
    }


def run(config: VolatilityConfig, out_dir: Path) -> ExperimentResult:
    """Train, evaluate learners and control under every scenario x breaker, test, plot."""
    tc = settings.train_config(config.ppo, config.market, config.agent_type, config.learners)
    conditions = [(sc, brk) for sc in config.scenarios for brk in (False, True)]
    brk = {"threshold": config.breaker.threshold, "window": config.breaker.window,
           "halt_steps": config.breaker.halt_steps}
    res: dict[tuple[str, str, bool], dict] = {}
    with phases(1 + 2 * len(conditions), "volatility") as phase:
        with phase("train"):
            trainer, out, k_eval = training.train_all_seeds(tc, config.seed, config.seeds)
        ctl = control.control_market(trainer)
        for sc, on in conditions:
            event = evaluation.EVENTS[sc.kind](sc.magnitude, sc.duration, config.start)
            params = evaluation.stressed(trainer.env_params.market, trainer.env.config.market,
                                     [event], brk if on else None)
            label = f"{sc.kind}, breaker {'on' if on else 'off'}"
            with phase(f"learners: {label}", "evaluate learners (all conditions)"):
                _, rec = evaluation.evaluate_rl(trainer, out.runner.params, k_eval, params,
                                            config.eval_episodes)
                res["rl", sc.kind, on] = _metrics(rec, config)
            with phase(f"control: {label}", "control (all conditions)"):
                rec = control.evaluate_control(ctl, k_eval, params, config.eval_episodes)
                res["rule", sc.kind, on] = _metrics(rec, config)
    return _result(config, res, out.metrics, phase.seconds)


def _result(cfg: VolatilityConfig, res: dict, metrics: dict, timings: dict) -> ExperimentResult:
    a = cfg.alpha
    findings = []
    for sc in cfg.scenarios:
        k = sc.kind
        findings.append(compare.paired_finding(
            res["rl", k, False]["amp"], res["rule", k, False]["amp"],
            f"{k}: volatility amplification differs with learners vs rule-based slots "
            "(breaker off)", f"amplification ratio, {k} (learners - rule-based)", alpha=a))
    for sc in cfg.scenarios:
        k = sc.kind
        findings.append(compare.paired_finding(
            res["rl", k, True]["amp"], res["rl", k, False]["amp"],
            f"{k}: the circuit breaker changes volatility amplification (learner markets)",
            f"amplification ratio, {k} (breaker on - off)", alpha=a))
    for sc in cfg.scenarios:
        if sc.kind != "flash_crash":
            continue
        findings.append(compare.paired_finding(
            res["rl", sc.kind, False]["recovery"], res["rule", sc.kind, False]["recovery"],
            f"{sc.kind}: recovery time differs with learners vs rule-based slots (breaker off)",
            f"recovery time, steps, censored at episode end, {sc.kind} "
            "(learners - rule-based)", alpha=a))
    findings = holm_adjust(findings)

    per_seed, rows = {}, {k: [] for k in ("market", "scenario", "breaker", "amp_mean",
                                          "amp_median", "recovery_mean", "censored_share",
                                          "halted_share", "n_finite_amp")}
    for (market, kind, on), m in res.items():
        tag = f"{market}_{kind}_{'on' if on else 'off'}"
        per_seed[f"amp_{tag}"] = m["amp"]
        per_seed[f"recovery_{tag}"] = m["recovery"]
        fin = np.isfinite(m["amp"])
        rows["market"].append("learners" if market == "rl" else "rule-based")
        rows["scenario"].append(kind)
        rows["breaker"].append("on" if on else "off")
        rows["amp_mean"].append(float(series.nanmean(m["amp"])))
        rows["amp_median"].append(float(np.median(m["amp"][fin])) if fin.any() else np.nan)
        rows["recovery_mean"].append(float(m["recovery"].mean()))
        rows["censored_share"].append(float(m["censored"].mean()))
        rows["halted_share"].append(float(m["halted"].mean()))
        rows["n_finite_amp"].append(int(fin.sum()))
    censored = float(np.mean(rows["censored_share"]))
    rc = cfg.recovery
    notes = (
        f"Learners: {cfg.learners} PPO `{cfg.agent_type}` agents on asset 0 of a "
        f"{cfg.market.n_assets}-asset {cfg.market.clearing} market, trained "
        f"{cfg.ppo.iterations} updates per seed in a calm market, evaluated frozen (sampled "
        f"actions) in {cfg.eval_episodes} episodes per seed and condition of "
        f"{cfg.market.episode_length} steps; each event starts at step {cfg.start} on all "
        "assets. Control: the same slots run the rule-based counterpart; both markets draw the "
        "same random numbers per episode, so seeds are paired. Breaker on: halt "
        f"{cfg.breaker.halt_steps} steps after a {cfg.breaker.threshold:.0%} move within "
        f"{cfg.breaker.window} steps.\n\n"
        f"Amplification: post ({cfg.after} steps from the event) over pre ({cfg.before} steps) "
        "std of close-to-close log returns; episodes without pre-shock price variation give "
        "no ratio and are skipped, seeds without any ratio are dropped from the tests (named "
        "in the finding's note). Recovery: back within "
        f"{rc.band:.0%} of the mean close of the {rc.pre_window} pre-shock steps for "
        f"{rc.hold} steps; unrecovered episodes count as recovered at the episode end "
        f"(right-censored; {censored:.0%} of the episodes over all conditions, see the "
        "`conditions` table), so recovery differences are lower bounds when censoring is "
        "common. Halts flatten returns, which lowers post-shock volatility mechanically.\n\n"
        + curve_text(curve_summary(metrics)) + "\n\n"
        + format_timings(timings)
    )
    figures = [
        ("price_paths.png", _paths_figure(cfg, res),
         "Mean close / pre-shock close per condition (event window shaded)"),
        ("amplification.png", _strip_figure(cfg, res),
         "Volatility amplification per seed and condition (bar: mean)"),
        ("learning_curves.png", learning_curves(metrics, "PPO training (calm market)"),
         "PPO learning curves over seeds (training before evaluation)"),
    ]
    return ExperimentResult(findings=findings, per_seed=per_seed, figures=figures, notes=notes,
                            tables={"conditions": {k: np.asarray(v) for k, v in rows.items()}})


_STYLES = {("rl", False): ("C0", "-"), ("rl", True): ("C0", "--"),
           ("rule", False): ("C1", "-"), ("rule", True): ("C1", "--")}


def _label(market: str, on: bool) -> str:
    return f"{'learners' if market == 'rl' else 'rule-based'}, breaker {'on' if on else 'off'}"


def _paths_figure(cfg: VolatilityConfig, res: dict) -> Figure:
    n = len(cfg.scenarios)
    fig = Figure(figsize=(4.2 * n, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, sharey=False))
    lo, hi = max(cfg.start - cfg.before, 0), min(cfg.start + 3 * cfg.after,
                                                 cfg.market.episode_length)
    t = np.arange(lo, hi)
    for ax, sc in zip(axes, cfg.scenarios, strict=True):
        for (market, on), (color, ls) in _STYLES.items():
            ax.plot(t, res[market, sc.kind, on]["path"][lo:hi], color=color, linestyle=ls,
                    label=_label(market, on))
        ax.axvspan(cfg.start - 0.5, cfg.start + sc.duration - 0.5, color="C3", alpha=0.15)
        ax.set_title(f"{sc.kind} ({sc.magnitude:g})", fontsize=10)
        ax.set_xlabel("step")
    axes[0].set_ylabel("close / pre-shock close")
    axes[0].legend(fontsize=7)
    return fig


def _strip_figure(cfg: VolatilityConfig, res: dict) -> Figure:
    n = len(cfg.scenarios)
    fig = Figure(figsize=(4.2 * n, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n))
    rng = np.random.default_rng(0)
    for ax, sc in zip(axes, cfg.scenarios, strict=True):
        for i, ((market, on), (color, _)) in enumerate(_STYLES.items()):
            y = res[market, sc.kind, on]["amp"]
            y = y[np.isfinite(y)]
            ax.scatter(i + rng.uniform(-0.15, 0.15, y.size), y, s=10, color=color, alpha=0.6)
            if y.size:
                ax.hlines(y.mean(), i - 0.3, i + 0.3, color="black")
        ax.set_xticks(range(4), ["RL off", "RL on", "rule off", "rule on"], fontsize=8)
        ax.axhline(1.0, color="0.5", linewidth=0.8)
        ax.set_title(f"{sc.kind} ({sc.magnitude:g})", fontsize=10)
    axes[0].set_ylabel("amplification ratio")
    return fig


SPEC = ExperimentSpec(
    name="volatility", title="Volatility amplification by RL agents under stress",
    config_cls=VolatilityConfig, run=run, description=__doc__.split("\n")[0])

if __name__ == "__main__":
    raise SystemExit(main(SPEC))

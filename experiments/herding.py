"""Do learning traders herd more than a scripted rule in the same slots, and does
herding rise under stress?

Design. ``learners`` PPO agents of ``agent_type`` (one shared policy, trading asset 0)
are trained per seed in a calm market, then evaluated frozen in ``eval_episodes``
fresh episodes with a stress event (all assets) at step ``stress.start``. Every
evaluation episode is played by five arms in the same slots on the same random
numbers (reset, market and step keys; only the slots' actions differ): the trained
policy acting greedily (the treatment) and sampling, the scripted rule of the learner
type in the learners' own action and observation space (the control), uniform-random
actions and empty slots (never trade). The stress hits every arm alike.

Herding as Lakonishok, Shleifer & Vishny (1992) define it: per step,
``H = |p_t - E p_t| - E|p_t - E p_t|`` over the slot agents active on asset 0, with
the expected buy share the contemporaneous buy share of the other traders (the
reactive tier), so that a common reaction of the whole market to the stress is not
counted as herding. Steps with fewer than ``min_traders`` active slot agents are not
valid cells; each arm's share of valid cells is reported. Robustness: Sias (2004),
the correlation of the slots' buy ratio with its lag, and its part that comes from
following the other slot agents. Per seed, means over episodes (and steps) in the
whole episode, the calm window ``[start - window, start)`` and the stress window
``[start, start + window)``. The CCK regression is not used: with a few assets hit
by one common shock its herding coefficient is negative by construction.

    python -m experiments.herding [--quick] [--config FILE] [--seeds N] [--out DIR]
        [--placebo] [--sweep]

``--sweep``: the effects against the crash size (``sweep.doses``) and the verdicts in
changed markets (:mod:`experiments.sweep`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from experiments import arms, compare, evaluation, training
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
from quantmarl.quant import herding, plots, series
from quantmarl.quant.sias import sias
from quantmarl.rl.compare import episode_metrics
from quantmarl.rl.history import curve_summary, curve_text, learning_curves


@dataclass(frozen=True)
class Stress:
    """The stress event of the evaluation episodes (all assets)."""

    kind: Literal["flash_crash", "volatility_spike"] = "flash_crash"
    magnitude: float = 0.08  # crash: fractional price move; spike: volatility multiplier
    start: int = 100  # step the event begins
    duration: int = 5  # steps
    window: int = 40  # length of the calm (before) and stress (from start) windows, steps

    def __post_init__(self) -> None:
        evaluation.check_event("stress.magnitude, stress.duration", self.kind,
                               self.magnitude, self.duration)
        check_range("stress.start", self.start, 1)
        check_range("stress.window", self.window, 5)

    def event(self):
        """The :class:`~quantmarl.events.Event` on all assets."""
        return evaluation.EVENTS[self.kind](self.magnitude, self.duration, self.start)


Direction = Literal["two-sided", "greater", "less"]
_HOW = {"two-sided": "differently", "greater": "more", "less": "less"}
_BY = {"two-sided": "a different amount", "greater": "more", "less": "less"}


@dataclass(frozen=True)
class Directions:
    """H1 of each test, for ``a - b`` as the metric names it, fixed before the run (the
    resolved ``config.yaml`` records them)."""

    learners_vs_scripted: Direction = "two-sided"  # LSV H, learners (greedy) - scripted
    sampled_vs_scripted: Direction = "two-sided"  # LSV H, learners (sampled) - scripted
    stress_vs_calm: Direction = "greater"  # LSV H of the learners (greedy), stress - calm
    change_vs_scripted: Direction = "two-sided"  # (stress - calm), learners - scripted


@dataclass(frozen=True)
class HerdingConfig:
    QUICK: ClassVar[dict] = {
        "seeds": 8, "eval_episodes": 4, "market.episode_length": 150,
        "stress.start": 80, "stress.window": 30,
        "ppo.iterations": 50, "ppo.n_envs": 16, "ppo.n_steps": 32,
    }

    seeds: int = 32
    seed: int = 0
    alpha: float = 0.05
    agent_type: Literal["momentum_trader", "market_maker", "trader"] = "momentum_trader"
    learners: int = 8  # learner slots (one shared policy), all on asset 0
    market: MarketConfig = field(default_factory=experiment_market)
    ppo: PPOSettings = field(default_factory=lambda: PPOSettings(
        n_envs=32, n_steps=32, iterations=120, update_epochs=2, n_minibatches=4,
        hidden=(64, 64)))
    stress: Stress = field(default_factory=Stress)
    directions: Directions = field(default_factory=Directions)
    eval_episodes: int = 4  # evaluation episodes per seed
    min_traders: int = 5  # LSV (1992): steps with fewer active slot agents are not cells
    placebo: bool = False  # A/A run: every compared arm is the random policy (evaluation)
    # (MarketParams path, value) set over the market's default params, e.g.
    # [[background.value_pull, 0.05]]
    market_params: tuple[tuple[str, float], ...] = ()
    sweep: Sweep = field(default_factory=lambda: Sweep(  # --sweep: stress.magnitude values
        doses=(0.02, 0.04, 0.08, 0.12, 0.16), learners=(5, 16)))

    def __post_init__(self) -> None:
        check_market(self.market)
        check_market_params(self.market, self.market_params)
        for dose in self.sweep.doses:
            dataclasses.replace(self.stress, magnitude=dose)  # checks the range
        check_range("alpha", self.alpha, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("learners", self.learners, 2, 256)
        check_range("eval_episodes", self.eval_episodes, 1, 1024)
        check_range("min_traders", self.min_traders, 1, self.learners)
        for n in self.sweep.learners:
            check_range("sweep.learners[]", n, max(2, self.min_traders), 256)
        s, length = self.stress, self.market.episode_length
        check_range("stress.start - stress.window", s.start - s.window, 1)
        check_range("stress.start + stress.window", s.start + s.window, None, length)


def _lsv_h(slots: np.ndarray, others: np.ndarray, min_traders: int) -> np.ndarray:
    """LSV H per step: slot and other traders' signed lots [..., T, n] -> float64 [..., T]
    (NaN: not a valid cell), the expected buy share the others' at the same step."""
    lead, (t, n) = slots.shape[:-2], slots.shape[-2:]
    q = jnp.asarray(slots.reshape(-1, t, n))
    expected = herding.buy_share(jnp.asarray(others.reshape(-1, t, others.shape[-1])))
    fn = jax.vmap(lambda qq, ee: herding.lsv(qq, min_traders=min_traders, expected=ee).h)
    return np.asarray(fn(q, expected), np.float64).reshape(*lead, t)


def _per_seed(x: np.ndarray) -> np.ndarray:
    """[S, E, ...] -> [S]: NaN-aware mean over everything but the seed axis."""
    return series.nanmean(x.reshape(x.shape[0], -1), axis=1)


def _sias(slots: np.ndarray, min_traders: int) -> tuple[np.ndarray, np.ndarray]:
    """Sias beta and its follow-the-others part per seed (mean over episodes):
    slots [S, E, T, n] -> ([S], [S])."""
    s, e = slots.shape[:2]
    res = [[sias(slots[i, j], min_traders) for j in range(e)] for i in range(s)]
    beta = np.array([[r.beta for r in row] for row in res])
    others = np.array([[r.others for r in row] for row in res])
    return _per_seed(beta), _per_seed(others)


def _arm_metrics(records, wealth, arms: tuple[str, ...], cfg: HerdingConfig) -> dict[str, dict]:
    """Per arm: per-step H [S, E, T] and the per-seed metrics [S] of the slot agents
    (``pnl``: their mean final PnL, fraction of initial wealth)."""
    qty = np.asarray(records.agent_qty[..., 0])  # [P, S, E, T, n_accounts] lots, asset 0
    slots, others = qty[..., :cfg.learners], qty[..., cfg.learners:-1]  # -1: the pool
    h = _lsv_h(slots, others, cfg.min_traders)  # [P, S, E, T]
    s = cfg.stress
    t = np.arange(h.shape[-1])
    calm = (t >= s.start - s.window) & (t < s.start)
    stress = (t >= s.start) & (t < s.start + s.window)
    out = {}
    for i, arm in enumerate(arms):
        beta, follow = _sias(slots[i], cfg.min_traders)
        out[arm] = {"h": h[i], "lsv": _per_seed(h[i]), "lsv_calm": _per_seed(h[i][..., calm]),
                    "lsv_stress": _per_seed(h[i][..., stress]),
                    "valid": np.isfinite(h[i]).mean(axis=(1, 2)),
                    "sias": beta, "sias_others": follow,
                    "activity": (slots[i] != 0).mean(axis=(1, 2, 3)),
                    "pnl": episode_metrics(np.asarray(wealth[i]), list(range(cfg.learners)))
                    ["pnl"].mean(axis=1)}
    return out


def train(config: HerdingConfig) -> training.Trained:
    """The learners of every seed, trained in the calm market."""
    return training.train_learners(config, config.agent_type)


def conditions(config: HerdingConfig, trainer) -> list:
    """The market params of the evaluation: the crash schedule (one condition)."""
    return [evaluation.stressed(trainer.env_params.market, trainer.env.config.market,
                                [config.stress.event()])]


def measure(config: HerdingConfig, outputs) -> tuple[dict, dict]:
    """(per-arm metrics, training verdict) from the arms' ``(wealth, records)`` under
    each of :func:`conditions` (an iterator)."""
    wealth, records = next(iter(outputs))
    return (_arm_metrics(records, wealth, evaluation.ARMS, config),
            arms.training_verdict(wealth, evaluation.ARMS, config.learners))


def evaluate(config: HerdingConfig, trained: training.Trained) -> tuple[dict, dict]:
    """Every arm under stress on the same random numbers: (per-arm metrics, verdict)."""
    return measure(config, evaluation.evaluate_trained(trained, conditions(
        config, trained.trainer), config.eval_episodes, config.placebo))


def run(config: HerdingConfig, out_dir: Path) -> ExperimentResult:
    """Train, evaluate every arm under stress on the same random numbers, test, plot."""
    with phases(2, "herding") as phase:
        with phase("train"):
            trained = train(config)
        with phase("evaluate arms and statistics"):
            metrics, verdict = evaluate(config, trained)
    return _result(config, metrics, verdict, trained.out.metrics, phase.seconds)


def _findings(cfg: HerdingConfig, m: dict) -> list:
    a, d = cfg.alpha, cfg.directions
    g, smp, ctl = m["greedy"], m["sample"], m["scripted"]
    did = lambda x: x["lsv_stress"] - x["lsv_calm"]  # noqa: E731
    how = lambda direction: _HOW[direction]  # noqa: E731
    return holm_adjust([
        compare.paired_finding(g["lsv"], ctl["lsv"], f"learners (greedy) herd "
                               f"{how(d.learners_vs_scripted)} than the scripted rule in the "
                               "same slots (whole episode)", "LSV H (learners greedy - "
                               "scripted)", d.learners_vs_scripted, alpha=a),
        compare.paired_finding(smp["lsv"], ctl["lsv"], f"learners (sampled actions) herd "
                               f"{how(d.sampled_vs_scripted)} than the scripted rule (whole "
                               "episode)", "LSV H (learners sampled - scripted)",
                               d.sampled_vs_scripted, alpha=a),
        compare.paired_finding(g["lsv_stress"], g["lsv_calm"], f"learners (greedy) herd "
                               f"{how(d.stress_vs_calm)} in the stress window than in the "
                               "calm window", "LSV H (stress - calm), learners greedy",
                               d.stress_vs_calm, alpha=a),
        compare.paired_finding(did(g), did(ctl), "stress changes the learners' herding by "
                               f"{_BY[d.change_vs_scripted]} than the scripted rule's",
                               "LSV H stress-calm change (learners greedy - scripted)",
                               d.change_vs_scripted, alpha=a),
    ])


def _result(cfg: HerdingConfig, m: dict, verdict: dict, metrics: dict,
            timings: dict) -> ExperimentResult:
    findings = _findings(cfg, m)
    per_seed = {f"{k}_{arm}": v for arm, d in m.items() for k, v in d.items() if k != "h"}
    s = cfg.stress
    t = np.arange(m["greedy"]["h"].shape[-1])
    stress_mask = (t >= s.start) & (t < s.start + s.window)
    table = arms.arm_table({
        "LSV H, whole episode": {a: d["lsv"] for a, d in m.items()},
        "LSV H, calm window": {a: d["lsv_calm"] for a, d in m.items()},
        "LSV H, stress window": {a: d["lsv_stress"] for a, d in m.items()},
        f"share of valid LSV cells (>= {cfg.min_traders} active)":
            {a: d["valid"] for a, d in m.items()},
        "Sias beta": {a: d["sias"] for a, d in m.items()},
        "Sias, following the others": {a: d["sias_others"] for a, d in m.items()},
        "share of slot-agent steps with a trade": {a: d["activity"] for a, d in m.items()},
    })
    figures = [
        ("herding_series.png", _series_figure(m, stress_mask),
         "LSV H per step (mean over seeds and episodes) per arm, stress window shaded"),
        ("paired_lsv.png", _paired_figure(m),
         "Per-seed LSV H: scripted vs learners (greedy) (left), calm vs stress for the "
         "learners (right)"),
        ("learning_curves.png", learning_curves(metrics, "PPO training (calm market)"),
         "PPO learning curves over seeds (training before evaluation)"),
    ]
    placebo = evaluation.placebo_note(cfg.placebo)
    notes = placebo + (
        f"Learners: {cfg.learners} PPO `{cfg.agent_type}` agents (one shared policy) on asset 0 "
        f"of a {cfg.market.n_assets}-asset {cfg.market.clearing} market, trained "
        f"{cfg.ppo.iterations} updates per seed in a calm market, then evaluated frozen in "
        f"{cfg.eval_episodes} episodes per seed of {cfg.market.episode_length} steps with a "
        f"`{s.kind}` (magnitude {s.magnitude}, {s.duration} steps, all assets) at step "
        f"{s.start}. Arms (same slots, same random numbers, paired by seed): "
        + ", ".join(evaluation.ARM_LABELS[a] for a in evaluation.ARMS)
        + ". Headline contrast: learners (greedy) vs scripted; the others are reported "
        "beside it.\n\n"
        + arms.verdict_text(verdict, cfg.agent_type) + "\n\n"
        f"LSV H: expected buy share = the other traders' buy share at the same step; "
        f"cells with fewer than {cfg.min_traders} active slot agents are not valid. Sias: "
        "correlation of the slots' buy ratio with its lag over each episode, and its part "
        "from following the other slot agents. Per arm, mean over seeds [95% t interval]:"
        "\n\n" + table + "\n\n"
        "Seeds whose metric is not finite (no valid LSV cell) are dropped from that test "
        "and named in the finding's note. Empty slots never trade, so they have no LSV "
        "cells. Random slots decide independently of each other and of the market: their "
        "H is not 0, because their buy share (1/2) is not the other traders' share that "
        "H is measured against; it is the level of trading that ignores the market. "
        "Identical slots on identical observations can only herd when they act greedily "
        "or follow a deterministic rule; a shared policy sampled independently per slot "
        "herds less by construction, which is why both learner arms are reported."
        "\n\n" + curve_text(curve_summary(metrics)) + "\n\n" + format_timings(timings)
    )
    return ExperimentResult(findings=findings, per_seed=per_seed, figures=figures, notes=notes,
                            limitations=LIMITATIONS)


LIMITATIONS = """\
- The learners train in a calm market on the experiment's short PPO budget (`ppo`); the
  training verdict above says whether they beat random and hold-only on these very
  episodes. If they do not, the learner arms describe policies that did not learn.
- One asset: LSV's cells are steps, the expected buy share is the other traders'.
  Traders who ignore the market do not score 0 (see the random arm): compare arms, not
  levels against 0.
- The slots share one policy and see nearly the same observation, so greedy learners,
  like the deterministic scripted rule, act alike by construction; the sampled arm is
  the same policy with independent draws per slot.
- With few seeds a permutation test has a floor (two-sided 2 / 2^n for n seeds), and
  Holm multiplies it: with 8 seeds and 4 tests nothing can be rejected at 0.05 (a
  `--quick` run is a smoke test).
- The CCK regression is not run: it needs a cross-section of many assets with their own
  shocks, which this experiment does not have."""


def _series_figure(m: dict, stress: np.ndarray) -> Figure:
    def mean_path(h):
        return series.nanmean(h.reshape(h.shape[0] * h.shape[1], -1), axis=0)

    fig = plots.herding_series(mean_path(m["greedy"]["h"]), stress, label="LSV H",
                               title="Herding of the slot agents")
    ax = fig.axes[0]
    ax.lines[0].set_label(evaluation.ARM_LABELS["greedy"])
    for color, arm in (("C1", "scripted"), ("C2", "random")):
        path = mean_path(m[arm]["h"])
        ax.plot(np.arange(path.shape[0]), path, color=color,
                label=evaluation.ARM_LABELS[arm])
    ax.legend(loc="upper right")
    return fig


def _paired_figure(m: dict) -> Figure:
    fig = Figure(figsize=(8, 3.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    g, ctl = m["greedy"], m["scripted"]
    for ax, (a, b), labels in (
            (ax1, (ctl["lsv"], g["lsv"]), ("scripted", "learners (greedy)")),
            (ax2, (g["lsv_calm"], g["lsv_stress"]), ("calm", "stress"))):
        for i in range(a.shape[0]):
            ax.plot([0, 1], [a[i], b[i]], "o-", color="0.5", alpha=0.6, markersize=3)
        ax.plot([0, 1], [series.nanmean(a), series.nanmean(b)], "o-", color="C3", linewidth=2,
                label="mean")
        ax.set_xticks([0, 1], labels)
        ax.set_ylabel("LSV H")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.legend(loc="best")
    return fig


def _tested(cfg, metrics: dict, verdict: dict) -> tuple[list, dict]:
    """The sweep's view of one condition: (the tests, the training verdict)."""
    return _findings(cfg, metrics), verdict


SWEEP = SweepDesign(
    factor="crash size (fractional move)",
    with_dose=lambda cfg, x: dataclasses.replace(
        cfg, stress=dataclasses.replace(cfg.stress, magnitude=x)),
    train=train, conditions=conditions,
    findings=lambda cfg, outputs: _tested(cfg, *measure(cfg, outputs)))

SPEC = ExperimentSpec(
    name="herding", title="Herding of learning traders against a scripted rule in the same "
    "slots, calm and under stress",
    config_cls=HerdingConfig, run=run, description=__doc__.split("\n")[0], sweep=SWEEP)

if __name__ == "__main__":
    raise SystemExit(main(SPEC))

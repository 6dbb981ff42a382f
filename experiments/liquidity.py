"""How do learning market makers change spread, depth, resilience and price impact after
a liquidity shock, compared with a scripted quoter in the same slots?

Design. A continuous double auction (CDA) with ``learners`` PPO market makers (agent
type ``market_maker``, quoting asset 0), trained per seed in a calm market, then
evaluated frozen in episodes with a liquidity shock (``shock``: the reactive market
makers' spreads x ``magnitude``, background limit flow thinned) at step
``shock.start``. Every evaluation episode is played by five arms in the learner slots
on the same random numbers (only the slots' actions differ): the learners quoting
greedily (the treatment) and sampling, the scripted symmetric quoter in the learners'
own action space (the control), uniform-random quotes and empty slots. The shock acts
on the reactive makers and the background flow, which are the same in every arm; it
widens no slot's quotes in any arm.

Metrics per seed (means over episodes, asset 0): quoted spread (ticks; steps with an
empty side skipped, their share reported) and depth (resting lots within
``depth_levels`` of the touch, both sides) before, during and after the shock;
resilience: steps until the smoothed spread is back within ``resilience.band`` of its
pre-shock level (a step without a two-sided book counts as not recovered),
right-censored at the episode end and analysed as survival data (Kaplan-Meier per arm,
per-seed RMST); price impact in the ``after`` steps after the shock ends (a window
that does not mix shock and post-shock steps): Kyle's lambda, the OLS slope of the
mid's log return (bps) on the aggressor-signed order flow (buyer- minus
seller-initiated lots, every trader's, from the step record), and Amihud's illiquidity
ratio as a robustness measure.

    python -m experiments.liquidity [--quick] [--config FILE] [--seeds N] [--out DIR]
        [--placebo] [--sweep]

``--sweep`` (:mod:`experiments.sweep`): the tests against the shock size
(``sweep.doses``) and every verdict in changed markets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from matplotlib.figure import Figure

from experiments import arms, compare, evaluation, stress_metrics, training
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
from quantmarl.events import liquidity_shock
from quantmarl.market import MarketConfig
from quantmarl.quant import market_quality as mq
from quantmarl.quant import series
from quantmarl.quant.survival import rmst
from quantmarl.rl.history import curve_summary, curve_text, learning_curves


@dataclass(frozen=True)
class Shock:
    """The liquidity shock (all assets)."""

    magnitude: float = 3.0  # spread multiplier (>= 1; >= 4 makes rule-based makers withdraw)
    start: int = 100  # step the shock begins
    duration: int = 30  # steps

    def __post_init__(self) -> None:
        check_range("shock.duration", self.duration, 2)
        evaluation.check_event("shock.magnitude", "liquidity_shock", self.magnitude,
                               self.duration)
        check_range("shock.start", self.start, 1)


@dataclass(frozen=True)
class Resilience:
    """Spread recovery: ``quant.market_quality.recovery_time`` on the smoothed spread."""

    smooth: int = 5  # trailing moving-average length, steps
    band: float = 0.25  # relative distance to the pre-shock spread that counts as recovered
    pre_window: int = 30  # pre-shock steps averaged into the reference spread
    hold: int = 5  # consecutive steps inside the band

    def __post_init__(self) -> None:
        check_range("resilience.smooth", self.smooth, 1)
        check_range("resilience.band", self.band, 0.0, 10.0, lo_open=True)
        check_range("resilience.pre_window", self.pre_window, 1)
        check_range("resilience.hold", self.hold, 1)


Direction = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class Directions:
    """H1 of the tests (learners greedy - scripted), fixed before the run."""

    learners_vs_scripted: Direction = "two-sided"


@dataclass(frozen=True)
class LiquidityConfig:
    QUICK: ClassVar[dict] = {
        "seeds": 8, "eval_episodes": 4, "market.episode_length": 150,
        "shock.start": 60, "shock.duration": 20, "after": 30,
        "resilience.pre_window": 20,
        "ppo.iterations": 12,
    }

    seeds: int = 32
    seed: int = 0
    alpha: float = 0.05
    learners: int = 4  # RL market makers (one shared policy) on asset 0
    market: MarketConfig = field(default_factory=lambda: experiment_market(
        clearing="cda", reactive=(("market_maker", 2), ("fundamental", 16), ("momentum", 8),
                  ("mean_reversion", 8), ("noise", 24))))
    ppo: PPOSettings = field(default_factory=lambda: PPOSettings(  # CDA steps are ~8x dearer
        n_envs=16, n_steps=32, iterations=60, update_epochs=2, n_minibatches=4,
        hidden=(64, 64)))
    shock: Shock = field(default_factory=Shock)
    after: int = 40  # post-shock window (spread, depth, price impact), steps after the end
    resilience: Resilience = field(default_factory=Resilience)
    directions: Directions = field(default_factory=Directions)
    eval_episodes: int = 4  # evaluation episodes per seed
    placebo: bool = False  # A/A run: every compared arm is the random policy (evaluation)
    # (MarketParams path, value) set over the market's default params
    market_params: tuple[tuple[str, float], ...] = ()
    sweep: Sweep = field(default_factory=lambda: Sweep(  # --sweep: shock.magnitude values
        doses=(1.5, 2.0, 3.0, 4.0, 6.0), learners=(2, 8)))

    def __post_init__(self) -> None:
        check_market(self.market)
        check_market_params(self.market, self.market_params)
        for dose in self.sweep.doses:
            dataclasses.replace(self.shock, magnitude=dose)  # checks the range
        check_range("alpha", self.alpha, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("learners", self.learners, 1, 256)
        check_range("eval_episodes", self.eval_episodes, 1, 1024)
        if self.market.clearing != "cda":
            raise ValueError(f"market.clearing must be 'cda' (spread and depth need a book), "
                             f"got {self.market.clearing!r}")
        s, length = self.shock, self.market.episode_length
        check_range("after", self.after, 5)
        check_range("shock.start - resilience.pre_window", s.start - self.resilience.pre_window,
                    0)
        check_range("shock.start + shock.duration + after", s.start + s.duration + self.after,
                    None, length)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean over ``n`` steps of the finite values of x [..., T]; gaps carried forward."""
    ok = np.isfinite(x)
    c = np.cumsum(np.where(ok, x, 0.0), axis=-1)
    k = np.cumsum(ok, axis=-1).astype(np.float64)
    c = np.concatenate([np.zeros_like(c[..., :1]), c], axis=-1)
    k = np.concatenate([np.zeros_like(k[..., :1]), k], axis=-1)
    lo = np.maximum(np.arange(x.shape[-1]) + 1 - n, 0)
    hi = np.arange(x.shape[-1]) + 1
    num, den = c[..., hi] - c[..., lo], k[..., hi] - k[..., lo]
    out = np.where(den > 0, num / np.maximum(den, 1.0), np.nan)
    for t in range(1, out.shape[-1]):  # carry the last value over windows with no quote
        out[..., t] = np.where(np.isfinite(out[..., t]), out[..., t], out[..., t - 1])
    return out


def _lambda_bps(dp: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Kyle's lambda per episode: dp [..., W] bps, q [..., W] lots -> [...] bps per lot.

    One OLS per episode in a Python loop (a batched QR under ``vmap`` can stall
    jaxlib's CPU thread pool); NaN where the order flow does not vary."""
    lead = dp.shape[:-1]
    dp, q = dp.reshape(-1, dp.shape[-1]), q.reshape(-1, q.shape[-1])
    out = np.full(dp.shape[0], np.nan)
    for i in range(dp.shape[0]):
        if np.std(q[i]) > 0 and np.all(np.isfinite(dp[i])):
            out[i] = float(mq.kyle_lambda(dp[i], q[i]).params[1])
    return np.where(np.isfinite(out), out, np.nan).reshape(lead)


METRICS = {  # per-seed metric -> row label
    "spread_pre": "mean spread before the shock, ticks",
    "spread_during": "mean spread during the shock, ticks",
    "spread_after": "mean spread after the shock, ticks",
    "depth_pre": "mean depth before the shock, lots",
    "depth_during": "mean depth during the shock, lots",
    "depth_after": "mean depth after the shock, lots",
    "resilience_rmst": "spread recovery RMST to the episode end, steps",
    "censored": "share of episodes whose spread has not recovered by the end",
    "kyle_lambda": "Kyle's lambda after the shock, bps per lot",
    "amihud": "Amihud illiquidity after the shock, bps per lot",
    "one_sided": "share of steps with an empty book side",
}


def _resilience(spread: np.ndarray, cfg: LiquidityConfig) -> tuple[np.ndarray, np.ndarray]:
    """Recovery steps and whether observed, [..., T] spreads -> [...] each. From the shock
    on, a step without a two-sided book counts as outside the band (not recovered)."""
    s, rs, t = cfg.shock, cfg.resilience, spread.shape[-1]
    sm = _smooth(spread, rs.smooth)
    pre = series.nanmean(sm[..., s.start - rs.pre_window:s.start].reshape(-1, rs.pre_window),
                         axis=1).reshape(sm.shape[:-1])[..., None]
    before = np.arange(t) < s.start
    sm = np.where(np.isfinite(sm), sm, np.where(before, pre, np.inf))
    return stress_metrics.recovery(sm, s.start, rs.band, rs.pre_window, rs.hold)


def _metrics(records, cfg: LiquidityConfig) -> dict[str, dict]:
    """Per arm: per-seed metrics [S] (:data:`METRICS`), resilience times [S, E] and the
    mean spread and depth paths [T] of asset 0; records [P, S, E, T, ...]."""
    s = cfg.shock
    spread = np.asarray(records.spread[..., 0], np.float64)  # [P, S, E, T] ticks; -1: one side
    spread = np.where(spread > 0, spread, np.nan)
    depth = np.asarray(records.depth[..., 0, :], np.float64).sum(-1)
    volume = np.asarray(records.volume[..., 0], np.float64)
    end = s.start + s.duration
    windows = {"pre": slice(s.start - cfg.resilience.pre_window, s.start),
               "during": slice(s.start, end), "after": slice(end, end + cfg.after)}
    mid = series.mid_prices(records.best_bid, records.best_ask, records.close)[..., 0]
    dp = 1e4 * np.diff(np.log(mid), axis=-1)  # [..., T-1] bps; dp[t-1]: step t-1 -> t
    flow = np.asarray(records.signed_volume[..., 0], np.float64)  # aggressor-signed lots
    after = windows["after"]
    lam = _lambda_bps(dp[..., after.start - 1:after.stop - 1], flow[..., after])
    amihud = np.asarray(mq.amihud_illiquidity(np.abs(dp[..., after.start - 1:after.stop - 1]),
                                              volume[..., after]))
    steps, observed = _resilience(spread, cfg)
    tau = spread.shape[-1] - s.start
    out = {}
    for i, arm in enumerate(evaluation.ARMS):
        m = {f"{name}_{w}": series.nanmean(x[i][..., sl].reshape(x.shape[1], -1), axis=1)
             for name, x in (("spread", spread), ("depth", depth)) for w, sl in windows.items()}
        m["resilience_rmst"] = np.array([rmst(steps[i, k], observed[i, k], tau)
                                         for k in range(steps.shape[1])])
        m["censored"] = 1.0 - observed[i].mean(axis=1)
        m["kyle_lambda"] = series.nanmean(lam[i], axis=1)
        m["amihud"] = series.nanmean(amihud[i], axis=1)
        m["one_sided"] = np.mean(~np.isfinite(spread[i]), axis=(1, 2))
        out[arm] = {**m, "steps": steps[i], "observed": observed[i],
                    "spread_path": series.nanmean(spread[i].reshape(-1, spread.shape[-1]),
                                                  axis=0),
                    "depth_path": depth[i].mean(axis=(0, 1))}
    return out


def train(config: LiquidityConfig) -> training.Trained:
    """The learning market makers of every seed, trained in the calm market."""
    return training.train_learners(config, "market_maker")


def conditions(config: LiquidityConfig, trainer) -> list:
    """The market params of the evaluation: the shock schedule (one condition)."""
    s = config.shock
    return [evaluation.stressed(trainer.env_params.market, trainer.env.config.market,
                                [liquidity_shock(s.magnitude, s.duration, s.start)])]


def measure(config: LiquidityConfig, outputs) -> tuple[dict, dict]:
    """(per-arm metrics, training verdict) from the arms' ``(wealth, records)`` under
    each of :func:`conditions` (an iterator)."""
    wealth, records = next(iter(outputs))
    return (_metrics(records, config),
            arms.training_verdict(wealth, evaluation.ARMS, config.learners))


def evaluate(config: LiquidityConfig, trained: training.Trained) -> tuple[dict, dict]:
    """Every arm under the shock on the same random numbers: (per-arm metrics, verdict)."""
    return measure(config, evaluation.evaluate_trained(trained, conditions(
        config, trained.trainer), config.eval_episodes, config.placebo))


def run(config: LiquidityConfig, out_dir: Path) -> ExperimentResult:
    """Train learning market makers, evaluate every arm under the shock, test, plot."""
    with phases(2, "liquidity") as phase:
        with phase("train"):
            trained = train(config)
        with phase("evaluate arms and statistics"):
            res, verdict = evaluate(config, trained)
    return _result(config, res, verdict, trained.out.metrics, phase.seconds)


_TESTED = ("spread_during", "spread_after", "depth_during", "resilience_rmst", "kyle_lambda")

LIMITATIONS = """\
- The learners train in a calm market on the experiment's short PPO budget (`ppo`); the
  training verdict above says whether they beat random and hold-only. Market makers have
  not been shown to learn in the training market (`docs/training.md`).
- Every censoring is at the episode end, so the RMST equals the mean of min(recovery,
  horizon): a restricted mean, not a mean recovery time.
- With few seeds a permutation test has a floor (two-sided 2 / 2^n for n seeds), and
  Holm multiplies it: a `--quick` run (8 seeds) is a smoke test."""


def _findings(cfg: LiquidityConfig, res: dict) -> list:
    g, ctl = res["greedy"], res["scripted"]
    return holm_adjust([
        compare.paired_finding(g[k], ctl[k], f"learning market makers (greedy) change the "
                               f"{METRICS[k].split(',')[0].removeprefix('mean ')} compared "
                               "with the scripted quoter", f"{METRICS[k]} (learners greedy - "
                               "scripted)", cfg.directions.learners_vs_scripted,
                               alpha=cfg.alpha)
        for k in _TESTED])


def _result(cfg: LiquidityConfig, res: dict, verdict: dict, metrics: dict,
            timings: dict) -> ExperimentResult:
    findings = _findings(cfg, res)
    per_seed = {f"{k}_{arm}": m[k] for arm, m in res.items() for k in METRICS}
    s, rs = cfg.shock, cfg.resilience
    placebo = evaluation.placebo_note(cfg.placebo)
    notes = placebo + (
        f"Learners: {cfg.learners} PPO market makers (one shared policy) on asset 0 of a "
        f"{cfg.market.n_assets}-asset CDA market with {cfg.market.reactive} reactive agents, "
        f"trained {cfg.ppo.iterations} updates per seed in a calm market, evaluated frozen in "
        f"{cfg.eval_episodes} episodes per seed of {cfg.market.episode_length} steps with a "
        f"liquidity shock (x{s.magnitude:g}, {s.duration} steps) at step {s.start}. Arms "
        "(same slots, same random numbers, paired by seed): "
        + ", ".join(evaluation.ARM_LABELS[a] for a in evaluation.ARMS) + ".\n\n"
        + arms.verdict_text(verdict, "market_maker") + "\n\n"
        f"Resilience: the {rs.smooth}-step mean spread back within {rs.band:.0%} of its "
        f"{rs.pre_window}-step pre-shock mean for {rs.hold} steps; episodes not recovered by "
        "their end are censored there (RMST: area under the Kaplan-Meier curve of a seed's "
        "episodes to the longest follow-up). Price impact over the "
        f"{cfg.after} steps after the shock ends. Per arm, mean over seeds [95% t interval]:"
        "\n\n" + arms.arm_table({label: {a: m[k] for a, m in res.items()}
                                 for k, label in METRICS.items()}) + "\n\n"
        + curve_text(curve_summary(metrics)) + "\n\n" + format_timings(timings))
    figures = [
        ("spread_depth.png", _paths_figure(cfg, res),
         "Spread and depth over time per arm (mean over seeds and episodes), shock shaded"),
        ("resilience_km.png", km_figure([("", res)], "steps after the shock starts"),
         "Kaplan-Meier curves of the spread's recovery time per arm (all seeds' episodes)"),
        ("learning_curves.png", learning_curves(metrics, "PPO market makers (calm market)"),
         "PPO learning curves over seeds (training before evaluation)"),
    ]
    return ExperimentResult(findings=findings, per_seed=per_seed, figures=figures, notes=notes,
                            limitations=LIMITATIONS)


def _paths_figure(cfg: LiquidityConfig, res: dict) -> Figure:
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    s = cfg.shock
    for ax, key, label in ((ax1, "spread_path", "spread, ticks"),
                           (ax2, "depth_path", "depth, lots")):
        for arm, color in SHOWN.items():
            y = res[arm][key]
            ax.plot(np.arange(y.shape[0]), y, color=color, label=evaluation.ARM_LABELS[arm])
        ax.axvspan(s.start - 0.5, s.start + s.duration - 0.5, color="C3", alpha=0.15,
                   label="liquidity shock")
        ax.set_ylabel(label)
    ax1.legend(fontsize=8)
    ax2.set_xlabel("step")
    return fig


def _tested(cfg, metrics: dict, verdict: dict) -> tuple[list, dict]:
    """The sweep's view of one condition: (the tests, the training verdict)."""
    return _findings(cfg, metrics), verdict


SWEEP = SweepDesign(
    factor="shock size (spread multiplier)",
    with_dose=lambda cfg, x: dataclasses.replace(
        cfg, shock=dataclasses.replace(cfg.shock, magnitude=x)),
    train=train, conditions=conditions,
    findings=lambda cfg, outputs: _tested(cfg, *measure(cfg, outputs)))

SPEC = ExperimentSpec(
    name="liquidity", title="Liquidity provision by learning market makers against a scripted "
    "quoter after a liquidity shock", config_cls=LiquidityConfig, run=run,
    description=__doc__.split("\n")[0], sweep=SWEEP)

if __name__ == "__main__":
    raise SystemExit(main(SPEC))

"""How do RL market makers change spread, depth, resilience and price impact after a
liquidity shock, compared with rule-based market makers in the same slots?

Design. Treatment: a continuous double auction (CDA) with ``learners`` PPO market
makers (agent type ``market_maker``, quoting asset 0), trained per seed in a calm
market, then replayed frozen in episodes with a liquidity shock (``shock``:
market-maker spreads x ``magnitude``, background limit flow thinned) at step
``shock.start``. Control: the same slots run the rule-based ``market_maker``
behaviour, same random numbers per episode.

Metrics per seed (means over episodes, asset 0): quoted spread (ticks; steps with
an empty side skipped) and depth (resting lots within ``depth_levels`` of the
touch, both sides) during the shock and in the ``after`` steps after it;
resilience = steps until the smoothed spread is back within ``resilience.band``
of its pre-shock level (right-censored at the episode end); price impact =
Kyle's lambda, OLS slope of the mid's log return (bps) on the net signed lots
traded by the reactive non-market-maker traders, over ``impact_window`` steps
from the shock.

    python -m experiments.liquidity [--quick] [--config FILE] [--seeds N] [--out DIR]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

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
from quantmarl.events import liquidity_shock
from quantmarl.market import MarketConfig
from quantmarl.quant import market_quality as mq
from quantmarl.quant import series
from quantmarl.rl.history import curve_summary, curve_text, learning_curves


@dataclass(frozen=True)
class Shock:
    """The liquidity shock (all assets)."""

    magnitude: float = 3.0  # spread multiplier (>= 1; >= 4 makes rule-based makers withdraw)
    start: int = 100  # step the shock begins
    duration: int = 30  # steps

    def __post_init__(self) -> None:
        check_range("shock.magnitude", self.magnitude, 1.0, 100.0)
        check_range("shock.start", self.start, 1)
        check_range("shock.duration", self.duration, 2)


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


@dataclass(frozen=True)
class LiquidityConfig:
    QUICK: ClassVar[dict] = {
        "seeds": 8, "eval_episodes": 4, "market.episode_length": 150,
        "shock.start": 60, "shock.duration": 20, "after": 30, "impact_window": 50,
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
    after: int = 40  # post-shock window, steps after the shock ends
    impact_window: int = 60  # Kyle's lambda: steps from the shock start
    resilience: Resilience = field(default_factory=Resilience)
    eval_episodes: int = 4  # evaluation episodes per seed

    def __post_init__(self) -> None:
        check_market(self.market)
        check_range("alpha", self.alpha, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("learners", self.learners, 1, 256)
        check_range("eval_episodes", self.eval_episodes, 1, 1024)
        if self.market.clearing != "cda":
            raise ValueError(f"market.clearing must be 'cda' (spread and depth need a book), "
                             f"got {self.market.clearing!r}")
        s, length = self.shock, self.market.episode_length
        check_range("after", self.after, 2)
        check_range("impact_window", self.impact_window, 5)
        check_range("shock.start - resilience.pre_window", s.start - self.resilience.pre_window,
                    0)
        check_range("shock.start + shock.duration + after", s.start + s.duration + self.after,
                    None, length)
        check_range("shock.start + impact_window", s.start + self.impact_window, None, length)


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
    """Kyle's lambda per episode: dp [S, E, W] bps, q [S, E, W] lots -> [S, E] bps per lot.

    One OLS per episode in a Python loop (a batched QR under ``vmap`` can stall
    jaxlib's CPU thread pool); NaN where the order flow does not vary."""
    out = np.full(dp.shape[:2], np.nan)
    for i in range(dp.shape[0]):
        for j in range(dp.shape[1]):
            if np.std(q[i, j]) > 0 and np.all(np.isfinite(dp[i, j])):
                out[i, j] = float(mq.kyle_lambda(dp[i, j], q[i, j]).params[1])
    return np.where(np.isfinite(out), out, np.nan)


def _metrics(records, customers: np.ndarray, cfg: LiquidityConfig) -> dict[str, np.ndarray]:
    """Per-seed market-quality metrics of asset 0: records [S, E, T, ...] -> [S] each."""
    s = cfg.shock
    spread = np.asarray(records.spread[..., 0], np.float64)  # [S, E, T] ticks, -1: a side empty
    spread = np.where(spread > 0, spread, np.nan)
    depth = np.asarray(records.depth[..., 0, :], np.float64).sum(-1)  # [S, E, T] lots
    during = slice(s.start, s.start + s.duration)
    after = slice(s.start + s.duration, s.start + s.duration + cfg.after)
    pre = slice(s.start - cfg.resilience.pre_window, s.start)

    def window_mean(x, sl):  # [S, E, T] -> [S]
        return series.nanmean(x[..., sl].reshape(x.shape[0], -1), axis=1)

    rs = cfg.resilience
    sm = _smooth(spread, rs.smooth)
    sm = np.where(np.isfinite(sm), sm, np.nanmax(np.where(np.isfinite(sm), sm, 0.0)))
    rec = jax.vmap(jax.vmap(lambda x: mq.recovery_time(
        x, s.start, rs.band, rs.pre_window, rs.hold)))(sm)
    mid = series.mid_prices(records.best_bid, records.best_ask,
                            records.close)[..., 0]  # [S, E, T] ticks
    dp = 1e4 * np.diff(np.log(mid), axis=-1)  # [S, E, T-1] bps; dp[t-1]: step t-1 -> t
    flow = np.asarray(records.agent_qty[..., customers, 0], np.float64).sum(-1)  # [S, E, T]
    w = slice(s.start, s.start + cfg.impact_window)
    lam = _lambda_bps(dp[..., w.start - 1: w.stop - 1], flow[..., w])
    return {
        "spread_pre": window_mean(spread, pre),
        "spread_during": window_mean(spread, during),
        "spread_after": window_mean(spread, after),
        "depth_pre": window_mean(depth, pre),
        "depth_during": window_mean(depth, during),
        "depth_after": window_mean(depth, after),
        "resilience": np.asarray(rec.steps, np.float64).mean(axis=1),
        "censored": np.asarray(rec.censored, np.float64).mean(axis=1),
        "kyle_lambda": series.nanmean(lam, axis=1),
        "one_sided": np.mean(~np.isfinite(spread), axis=(1, 2)),
        "spread_path": series.nanmean(spread.reshape(-1, spread.shape[-1]), axis=0),
        "depth_path": depth.mean(axis=(0, 1)),
    }


def run(config: LiquidityConfig, out_dir: Path) -> ExperimentResult:
    """Train RL market makers, evaluate them and the rule-based control under the shock."""
    tc = settings.train_config(config.ppo, config.market, "market_maker", config.learners)
    s = config.shock
    with phases(3, "liquidity") as phase:
        with phase("train"):
            trainer, out, k_eval = training.train_all_seeds(tc, config.seed, config.seeds)
        with phase("evaluate learners"):
            mcfg = trainer.env.config.market
            params = evaluation.stressed(trainer.env_params.market, mcfg,
                                     [liquidity_shock(s.magnitude, s.duration, s.start)])
            wealth, rec_rl = evaluation.evaluate_rl(trainer, out.runner.params, k_eval, params,
                                                config.eval_episodes)
            rl = _metrics(rec_rl, _customers(mcfg), config)
        with phase("control"):
            ctl = control.control_market(trainer)
            rec_ctl = control.evaluate_control(ctl, k_eval, params, config.eval_episodes)
            rule = _metrics(rec_ctl, _customers(ctl.config), config)
    pnl = np.asarray(wealth)[:, :, -1, :].mean(axis=(1, 2)) - 1.0
    return _result(config, rl, rule, pnl, out.metrics, phase.seconds)


def _customers(config) -> np.ndarray:
    """Account rows of the reactive traders that are not market makers (the order flow)."""
    names = [n for n, _ in config.reactive if n != "market_maker"]
    return np.concatenate([control.block_rows(config, n) for n in names] or [np.arange(0)])


_METRICS = (
    ("spread_during", "mean spread during the shock, ticks"),
    ("spread_after", "mean spread after the shock, ticks"),
    ("depth_during", "mean depth during the shock, lots"),
    ("resilience", "spread recovery time, steps (censored at episode end)"),
    ("kyle_lambda", "Kyle's lambda after the shock, bps per lot"),
)


def _result(cfg: LiquidityConfig, rl: dict, rule: dict, pnl: np.ndarray, metrics: dict,
            timings: dict) -> ExperimentResult:
    findings = holm_adjust([
        compare.paired_finding(rl[k], rule[k], f"RL market makers change the {label.split(',')[0]}"
                              " compared with rule-based market makers",
                              f"{label} (RL - rule-based)", alpha=cfg.alpha)
        for k, label in _METRICS])
    per_seed = {}
    for k in ("spread_pre", "spread_during", "spread_after", "depth_pre", "depth_during",
              "depth_after", "resilience", "kyle_lambda", "one_sided"):
        per_seed[f"{k}_rl"] = rl[k]
        per_seed[f"{k}_rule"] = rule[k]
    per_seed["learner_pnl"] = pnl
    s, rs = cfg.shock, cfg.resilience
    notes = (
        f"Learners: {cfg.learners} PPO market makers (one shared policy) on asset 0 of a "
        f"{cfg.market.n_assets}-asset CDA market with {cfg.market.reactive} reactive agents, "
        f"trained {cfg.ppo.iterations} updates per seed in a calm market, evaluated frozen "
        f"(sampled actions) in {cfg.eval_episodes} episodes per seed of "
        f"{cfg.market.episode_length} steps with a liquidity shock (x{s.magnitude:g}, "
        f"{s.duration} steps) at step {s.start}. Control: the same slots run rule-based "
        "market makers; both markets draw the same random numbers per episode, so seeds are "
        "paired.\n\n"
        "The shock widens the *rule-based* makers' quotes and thins background limit flow; "
        "the learners see it only through their observations (spread, depth, volatility), so "
        "part of any difference is by construction. Spread: steps with an empty book side are "
        f"skipped (share per seed in `one_sided_*`). Resilience: {rs.smooth}-step mean spread "
        f"back within {rs.band:.0%} of its {rs.pre_window}-step pre-shock mean for {rs.hold} "
        f"steps; unrecovered episodes count at the episode end (right-censored: learners "
        f"{np.mean(rl['censored']):.0%}, rule-based {np.mean(rule['censored']):.0%} of "
        "episodes). Kyle's lambda: order flow = net lots of the reactive non-market-maker "
        "traders (the same agents in both markets); episodes without flow variation are "
        "skipped and seeds without any estimate are dropped from the test (named in the "
        f"finding's note). Learners' mean evaluation PnL {np.mean(pnl):+.4%} of initial "
        "wealth.\n\n"
        + curve_text(curve_summary(metrics)) + "\n\n"
        + format_timings(timings)
    )
    figures = [
        ("spread_depth.png", _paths_figure(cfg, rl, rule),
         "Spread and depth over time (mean over seeds and episodes), shock shaded"),
        ("learning_curves.png", learning_curves(metrics, "PPO market makers (calm market)"),
         "PPO learning curves over seeds (training before evaluation)"),
    ]
    return ExperimentResult(findings=findings, per_seed=per_seed, figures=figures, notes=notes)


def _paths_figure(cfg: LiquidityConfig, rl: dict, rule: dict) -> Figure:
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    t = np.arange(rl["spread_path"].shape[0])
    s = cfg.shock
    for ax, key, label in ((ax1, "spread_path", "spread, ticks"),
                           (ax2, "depth_path", "depth, lots")):
        ax.plot(t, rl[key], color="C0", label="RL market makers")
        ax.plot(t, rule[key], color="C1", label="rule-based market makers")
        ax.axvspan(s.start - 0.5, s.start + s.duration - 0.5, color="C3", alpha=0.15,
                   label="liquidity shock")
        ax.set_ylabel(label)
    ax1.legend(fontsize=8)
    ax2.set_xlabel("step")
    return fig


SPEC = ExperimentSpec(
    name="liquidity", title="Liquidity provision by RL vs rule-based market makers after a "
    "liquidity shock", config_cls=LiquidityConfig, run=run, description=__doc__.split("\n")[0])

if __name__ == "__main__":
    raise SystemExit(main(SPEC))

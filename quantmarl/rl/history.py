"""Training history on the host: a tqdm progress hook, metrics tables (CSV/JSON) and
learning-curve figures.

``metrics`` is what :meth:`~quantmarl.rl.train.Trainer.run` returns, with a
leading seeds axis when trained under ``vmap``: ``metrics[group][name]`` is
``[seeds, n_updates]`` (or ``[n_updates]`` for one seed).
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from quantmarl.quant import intervals


class ProgressBar:
    """A tqdm bar over updates, fed by ``jax.debug.callback`` from inside the jitted loop.

    Under ``vmap`` the callback runs once per seed; the bar advances when all
    ``n_seeds`` have reported an update and shows their mean return, PnL, policy entropy,
    approximate KL and explained variance.
    """

    def __init__(self, total: int, n_seeds: int = 1, initial: int = 0, desc: str = "train",
                 disable: bool = False):
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="update",
                        disable=disable, dynamic_ncols=True)
        self.n_seeds = n_seeds
        self._pending: dict[int, list[dict]] = defaultdict(list)

    def __call__(self, update, metrics) -> None:
        u = int(np.asarray(update))
        self._pending[u].append(metrics)
        if len(self._pending[u]) < self.n_seeds:
            return
        reports = self._pending.pop(u)
        mean = lambda k: _nanmean([float(np.asarray(m[g][k]))  # noqa: E731
                                   for m in reports for g in m])
        pnl = mean("pnl")
        self.bar.set_postfix(ret=f"{mean('episode_return'):.3g}",
                             pnl=f"{pnl:.3%}" if math.isfinite(pnl) else "-",
                             ent=f"{mean('entropy'):.3f}", kl=f"{mean('approx_kl'):.4f}",
                             ev=f"{mean('explained_variance'):.2f}")
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _nanmean(xs: list[float]) -> float:
    xs = [x for x in xs if math.isfinite(x)]
    return sum(xs) / len(xs) if xs else float("nan")


def _as_seeds(x) -> np.ndarray:
    a = np.asarray(x, np.float64)
    return a[None] if a.ndim == 1 else a


def concat(a: dict | None, b: dict) -> dict:
    """Join two metrics histories along the updates axis (``a`` may be None)."""
    if a is None:
        return {g: {k: _as_seeds(v) for k, v in m.items()} for g, m in b.items()}
    return {g: {k: np.concatenate([_as_seeds(a[g][k]), _as_seeds(v)], axis=1)
                for k, v in m.items()} for g, m in b.items()}


def rows(metrics: dict) -> list[dict]:
    """Long table: one row per (seed, update, group) with every metric."""
    out = []
    for g, m in metrics.items():
        names = sorted(m)
        arrs = {k: _as_seeds(m[k]) for k in names}
        n_seeds, n_updates = arrs[names[0]].shape
        for s in range(n_seeds):
            for u in range(n_updates):
                out.append({"seed": s, "update": u + 1, "group": g,
                            **{k: float(arrs[k][s, u]) for k in names}})
    return out


def write_csv(path: str | Path, metrics: dict) -> Path:
    table = rows(metrics)
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]) if table else ["seed"])
        writer.writeheader()
        writer.writerows(table)
    return path


def write_json(path: str | Path, metrics: dict) -> Path:
    """``{group: {metric: [[per update] per seed]}}`` (NaN written as null)."""
    data = {g: {k: [[None if not math.isfinite(x) else x for x in row]
                    for row in _as_seeds(v).tolist()] for k, v in m.items()}
            for g, m in metrics.items()}
    Path(path).write_text(json.dumps(data))
    return Path(path)


def read_json(path: str | Path) -> dict:
    data = json.loads(Path(path).read_text())
    return {g: {k: np.array([[np.nan if x is None else x for x in row] for row in v])
                for k, v in m.items()} for g, m in data.items()}


def learning_curves(metrics: dict, title: str = "PPO training"):
    """Figure: mean over seeds (band: min..max) of return, PnL, entropy, value loss, KL and
    explained variance per update, one line per group."""
    from matplotlib.figure import Figure

    panels = (("episode_return", "episode return (scaled)"), ("pnl", "PnL (fraction of wealth)"),
              ("entropy", "policy entropy"), ("value_loss", "value loss"),
              ("approx_kl", "approx. KL"), ("explained_variance", "explained variance"))
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, (name, label) in zip(axes, panels, strict=True):
        for g, m in metrics.items():
            a = _fill_nan(_as_seeds(m[name]))
            x = np.arange(1, a.shape[1] + 1)
            with warnings.catch_warnings():  # all-NaN columns (no episode ended yet) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, lo, hi = (np.nanmean(a, axis=0), np.nanmin(a, axis=0),
                                np.nanmax(a, axis=0))
            ax.plot(x, mean, label=g)
            if a.shape[0] > 1:
                ax.fill_between(x, lo, hi, alpha=0.2)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("update")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def _fill_nan(a: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward (updates in which no episode ended)."""
    out = a.copy()
    for s in range(out.shape[0]):
        last = np.nan
        for u in range(out.shape[1]):
            if np.isfinite(out[s, u]):
                last = out[s, u]
            else:
                out[s, u] = last
    return out


def final_summary(metrics: dict, last: int = 5) -> dict:
    """Per group: mean over seeds of the last ``last`` updates' return and PnL."""
    out = {}
    for g, m in metrics.items():
        entry = {}
        for k in ("episode_return", "pnl", "entropy", "explained_variance"):
            a = _fill_nan(_as_seeds(m[k]))[:, -last:]
            v = float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")
            entry[k] = v if math.isfinite(v) else None
        out[g] = entry
    return out


def curve_summary(metrics: dict, window: int = 10, stopped_at: int | None = None) -> dict:
    """The learning curve as numbers, per group: the final and the best training return
    (``episode_return`` of the sampled policy's rollouts, scaled units) and PnL.

    ``final_*``: per seed, the mean of the last ``window`` updates; ``best_return``: per
    seed, the highest moving average over ``window`` updates; each ``{"mean", "ci95"}``
    over seeds (no interval for one seed). ``best_update``: the update (1-based) that ends
    the best window of the mean over seeds. ``stopped_at``: the stopping rule's update,
    passed through (None: ran the budget). Updates in which no episode ended carry the
    last value forward."""
    out = {}
    for g, m in metrics.items():
        ret, pnl = (_fill_nan(_as_seeds(m[k])) for k in ("episode_return", "pnl"))
        w = max(1, min(window, ret.shape[1]))
        kernel = np.ones(w) / w
        moving = np.stack([np.convolve(r, kernel, mode="valid") for r in ret])  # [S, U-w+1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_curve = np.nanmean(moving, axis=0)
            best = np.nanmax(moving, axis=1)
            final_return = np.nanmean(ret[:, -w:], axis=1)  # NaN: no episode ended yet
            final_pnl = np.nanmean(pnl[:, -w:], axis=1)
        finite = np.isfinite(mean_curve)
        out[g] = {"final_return": intervals.mean_record(final_return),
                  "best_return": intervals.mean_record(best),
                  "best_update": int(np.nanargmax(mean_curve)) + w if finite.any() else None,
                  "final_pnl": intervals.mean_record(final_pnl),
                  "window": w, "updates": int(ret.shape[1]), "stopped_at": stopped_at}
    return out


def curve_text(summary: dict) -> str:
    """One line per group of :func:`curve_summary`, for reports."""

    def cell(e: dict, scale: float = 1.0, digits: int = 2) -> str:
        if e["mean"] is None:
            return "n/a"
        lo, hi = e["ci95"]
        f = f"{{:.{digits}f}}"
        return f.format(e["mean"] * scale) + (
            "" if lo is None else f" [{f.format(lo * scale)}, {f.format(hi * scale)}]")

    lines = []
    for g, s in summary.items():
        stop = (f"stopped at update {s['stopped_at']}" if s["stopped_at"] is not None
                else f"ran all {s['updates']} updates")
        lines.append(f"`{g}` training return (mean of the last {s['window']} updates, 95% "
                     f"interval over seeds): final {cell(s['final_return'])}, best moving "
                     f"average {cell(s['best_return'])} (best update {s['best_update']}); "
                     f"final PnL {cell(s['final_pnl'], 100, 3)}% of wealth; {stop}.")
    return "\n".join(lines)

"""Matplotlib figures for quant diagnostics (object API, Agg-safe, no ``show``).

Each function returns a :class:`matplotlib.figure.Figure`; save it with
``fig.savefig(path)``. Inputs are arrays (numpy or JAX), converted to numpy.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from quantmarl.quant import risk, stylized

__all__ = ["return_histogram", "acf_plot", "equity_drawdown", "herding_series"]


def return_histogram(returns, bins: int = 60, title: str = "Returns vs normal fit") -> Figure:
    """Histogram (density, log y) of returns with the fitted normal pdf overlaid."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(r, bins=bins, density=True, alpha=0.6, label="returns")
    mu, sd = r.mean(), r.std(ddof=1)
    grid = np.linspace(r.min(), r.max(), 400)
    pdf = np.exp(-0.5 * ((grid - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    ax.plot(grid, pdf, color="C3", label=f"normal fit (mu={mu:.2g}, sd={sd:.2g})")
    ax.set_yscale("log")
    ax.set_xlabel("return")
    ax.set_ylabel("density (log)")
    ax.set_title(title)
    ax.legend()
    return fig


def acf_plot(
    returns, nlags: int = 20, z: float = 1.96, transforms: tuple[str, ...] = ("raw", "abs", "sq")
) -> Figure:
    """ACF stems at lags 1..nlags for raw, |r| and r^2, one axis each, with the
    white-noise band ``+/- z / sqrt(T)`` shaded."""
    r = np.asarray(returns, dtype=float)
    fns = {"raw": stylized.acf, "abs": stylized.acf_abs, "sq": stylized.acf_squared}
    fig = Figure(figsize=(6, 2.6 * len(transforms)))
    band = z / np.sqrt(r.shape[-1])
    lags = np.arange(1, nlags + 1)
    for i, name in enumerate(transforms):
        ax = fig.add_subplot(len(transforms), 1, i + 1)
        rho = np.asarray(fns[name](r, nlags))[1:]
        ax.vlines(lags, 0, rho, color="C0")
        ax.plot(lags, rho, "o", color="C0", markersize=3)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.fill_between([0.5, nlags + 0.5], -band, band, color="C1", alpha=0.25,
                        label=f"+/-{z}/sqrt(T)")
        ax.set_xlim(0.5, nlags + 0.5)
        ax.set_ylabel({"raw": "ACF r", "abs": "ACF |r|", "sq": "ACF r^2"}[name])
        ax.legend(loc="upper right")
    fig.axes[-1].set_xlabel("lag")
    return fig


def equity_drawdown(equity, title: str = "Equity and drawdown") -> Figure:
    """Equity curve (top) and drawdown fraction (bottom, filled below zero)."""
    e = np.asarray(equity, dtype=float)
    dd = np.asarray(risk.drawdown(e))
    t = np.arange(e.shape[-1])
    fig = Figure(figsize=(7, 5))
    ax1 = fig.add_subplot(2, 1, 1)
    ax1.plot(t, e, color="C0")
    ax1.set_ylabel("equity")
    ax1.set_title(title)
    ax2 = fig.add_subplot(2, 1, 2, sharex=ax1)
    ax2.fill_between(t, -dd, 0.0, color="C3", alpha=0.5)
    ax2.set_ylabel("drawdown")
    ax2.set_xlabel("period")
    return fig


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of True runs in a boolean mask."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(int))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def herding_series(h, stress=None, label: str = "LSV H", title: str = "Herding") -> Figure:
    """Herding measure over time with stress windows (bool mask [T]) shaded."""
    h = np.asarray(h, dtype=float)
    t = np.arange(h.shape[-1])
    fig = Figure(figsize=(7, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t, h, color="C0", label=label)
    ax.axhline(0.0, color="black", linewidth=0.8)
    if stress is not None:
        for i, (a, b) in enumerate(_runs(np.asarray(stress))):
            ax.axvspan(a - 0.5, b - 0.5, color="C3", alpha=0.2,
                       label="stress" if i == 0 else None)
    ax.set_xlabel("period")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig

"""Matplotlib figures of the side-by-side stylised facts: a real return series against
many simulated ones (object API, Agg-safe, no ``show``).

Inputs are log returns: ``real`` [T'] and ``sim`` [S, T] (one row per seed). Simulated
curves are the median across seeds with a shaded 5-95% band; the real ACF carries the
white-noise band ``+/- 1.96 / sqrt(T')``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import norm

from quantmarl.quant import stylized

__all__ = ["PANELS", "comparison_figure"]

PANELS = ("acf", "acf_abs", "qq", "kurtosis")
HORIZONS = (1, 2, 5, 10, 20, 50)  # aggregation horizons of the kurtosis panel, steps
BAND = (5.0, 95.0)  # percentiles of the simulated band


def _sim_band(ax: Axes, x: np.ndarray, rows: np.ndarray, label: str) -> None:
    lo, med, hi = np.nanpercentile(rows, (BAND[0], 50.0, BAND[1]), axis=0)
    ax.fill_between(x, lo, hi, color="C1", alpha=0.25, lw=0,
                    label=f"simulated {BAND[0]:g}-{BAND[1]:g}%")
    ax.plot(x, med, color="C1", lw=1.5, label=f"{label} median ({rows.shape[0]} seeds)")


def _acf(ax: Axes, real: np.ndarray, sim: np.ndarray, nlags: int, absolute: bool) -> None:
    fn = stylized.acf_abs if absolute else stylized.acf
    lags = np.arange(1, nlags + 1)
    rho_real = np.asarray(fn(real, nlags))[1:]
    rho_sim = np.stack([np.asarray(fn(row, nlags))[1:] for row in sim])
    band = 1.96 / np.sqrt(real.shape[-1])
    ax.axhspan(-band, band, color="C0", alpha=0.12, lw=0, label="real +/-1.96/sqrt(T)")
    _sim_band(ax, lags, rho_sim, "simulated")
    ax.plot(lags, rho_real, "o-", color="C0", ms=2.5, lw=1, label="real")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("ACF |r|" if absolute else "ACF r")
    ax.legend(fontsize=7, loc="upper right")


def _qq(ax: Axes, real: np.ndarray, sim: np.ndarray) -> None:
    probs = np.linspace(0.001, 0.999, 199)
    z = norm.ppf(probs)

    def q(r: np.ndarray) -> np.ndarray:
        return np.quantile((r - r.mean()) / r.std(), probs)

    _sim_band(ax, z, np.stack([q(row) for row in sim]), "simulated")
    ax.plot(z, q(real), color="C0", lw=1.5, label="real")
    ax.plot(z, z, color="black", lw=0.6, ls="--", label="normal")
    ax.set_xlabel("normal quantile")
    ax.set_ylabel("standardised return quantile")
    ax.legend(fontsize=7, loc="upper left")


def _kurtosis(ax: Axes, real: np.ndarray, sim: np.ndarray) -> None:
    hs = tuple(h for h in HORIZONS if min(real.shape[-1], sim.shape[-1]) // h >= 8)
    x = np.asarray(hs, float)
    k_sim = np.stack([np.asarray(stylized.aggregational_gaussianity(row, hs)) for row in sim])
    _sim_band(ax, x, k_sim, "simulated")
    ax.plot(x, np.asarray(stylized.aggregational_gaussianity(real, hs)), "o-", color="C0",
            label="real")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("aggregation horizon (steps)")
    ax.set_ylabel("excess kurtosis")
    ax.legend(fontsize=7, loc="upper right")


def comparison_figure(real, sim, panels: tuple[str, ...] = PANELS, nlags: int = 50,
                      title: str = "") -> Figure:
    """One row of panels: ``acf`` (ACF of r), ``acf_abs`` (ACF of |r|), ``qq`` (QQ plot of
    standardised returns against the normal), ``kurtosis`` (excess kurtosis of summed
    returns against the aggregation horizon). ``real`` [T'], ``sim`` [S, T] log returns."""
    real = np.asarray(real, np.float64)
    sim = np.atleast_2d(np.asarray(sim, np.float64))
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(f"panels must be a non-empty subset of {PANELS}, got {panels!r}")
    fig = Figure(figsize=(4.2 * len(panels), 3.6), layout="constrained")
    for i, name in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        if name in ("acf", "acf_abs"):
            _acf(ax, real, sim, nlags, name == "acf_abs")
        elif name == "qq":
            _qq(ax, real, sim)
        else:
            _kurtosis(ax, real, sim)
    if title:
        fig.suptitle(title)
    return fig

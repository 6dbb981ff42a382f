"""Plots return Figures with the expected axes/artists and save to PNG."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import quantmarl  # noqa: F401
from quantmarl.quant import plots

R = np.random.default_rng(0).standard_t(4, 500) * 0.01


def _saves(fig: Figure, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_return_histogram(tmp_path):
    fig = plots.return_histogram(R, bins=40)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.patches) == 40 and len(ax.lines) == 1
    _saves(fig, tmp_path, "hist")


def test_acf_plot(tmp_path):
    fig = plots.acf_plot(R, nlags=15)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 1
        ys = bands[0].get_paths()[0].vertices[:, 1]
        lo, hi = ys.min(), ys.max()
        np.testing.assert_allclose([lo, hi], [-1.96 / np.sqrt(500), 1.96 / np.sqrt(500)])
        assert len(ax.lines[0].get_xdata()) == 15
    _saves(fig, tmp_path, "acf")


def test_equity_drawdown(tmp_path):
    eq = np.array([1.0, 1.2, 0.9, 1.3, 1.1])
    fig = plots.equity_drawdown(eq)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), eq)
    ylo = fig.axes[1].collections[0].get_paths()[0].vertices[:, 1].min()
    assert abs(ylo + 0.25) < 1e-12  # max drawdown 1 - 0.9/1.2
    _saves(fig, tmp_path, "equity")


def test_herding_series(tmp_path):
    h = np.sin(np.arange(100) / 5)
    stress = np.zeros(100, bool)
    stress[10:20] = True
    stress[60:75] = True
    fig = plots.herding_series(h, stress)
    ax = fig.axes[0]
    assert len(ax.patches) == 2  # one shaded span per stress window
    assert len(ax.lines) == 2  # series + zero line
    _saves(fig, tmp_path, "herding")
    assert len(plots.herding_series(h).axes[0].patches) == 0

"""quant.facts_plots: the side-by-side figure draws every panel and refuses unknown ones."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import quantmarl  # noqa: F401
from quantmarl.quant.facts_plots import PANELS, comparison_figure

RNG = np.random.default_rng(3)


def test_comparison_figure_has_one_axis_per_panel(tmp_path):
    real, sim = RNG.standard_t(4, 400), RNG.normal(size=(3, 300))
    fig = comparison_figure(real, sim, nlags=20, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == len(PANELS)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "ACF r", "ACF |r|", "standardised return quantile", "excess kurtosis"]
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
    assert len(comparison_figure(real, sim[0], ("qq",)).axes) == 1


@pytest.mark.parametrize("panels", [(), ("acf", "nope")])
def test_comparison_figure_refuses_unknown_panels(panels):
    with pytest.raises(ValueError, match="panels must be"):
        comparison_figure(np.ones(10), np.ones((2, 10)), panels)

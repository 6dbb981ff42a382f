"""Figures shared by the experiments: one line per arm (the arms
:data:`SHOWN`, in their colours), one panel per condition."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from experiments import evaluation
from quantmarl.quant.survival import kaplan_meier

__all__ = ["SHOWN", "km_curves", "km_figure"]

#: the arms drawn in the per-arm figures, with their colours
SHOWN = {"greedy": "C0", "scripted": "C1", "random": "C2", "hold": "0.4"}


def km_curves(ax, per_arm: dict, xlabel: str) -> None:
    """Kaplan-Meier curves of every shown arm on ``ax``: ``per_arm[arm]`` holds ``steps``
    and ``observed`` ([S, E] times and event flags); ``+`` marks the last censoring."""
    for arm, color in SHOWN.items():
        m = per_arm[arm]
        km = kaplan_meier(m["steps"].ravel(), m["observed"].ravel())
        ax.step(np.concatenate([[0.0], km.time]), np.concatenate([[1.0], km.survival]),
                where="post", color=color, label=evaluation.ARM_LABELS[arm])
        cens = m["steps"][~m["observed"]]
        if cens.size:
            ax.plot([cens.max()], [km.survival[-1] if km.time.size else 1.0], "+",
                    color=color)
    ax.set_xlabel(xlabel)
    ax.set_ylim(0, 1.02)


def km_figure(panels: list[tuple[str, dict]], xlabel: str) -> Figure:
    """Kaplan-Meier curves per arm, one panel per ``(title, per_arm)`` (:func:`km_curves`)."""
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (title, per_arm) in zip(axes, panels, strict=True):
        km_curves(ax, per_arm, xlabel)
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("share not yet recovered")
    axes[0].legend(fontsize=7)
    return fig

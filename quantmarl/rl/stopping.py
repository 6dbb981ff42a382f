"""The early-stopping rule of a training run (host side, between compiled chunks).

Training stops early when the moving average of the mean episode return (over
``TrainConfig.stop_window`` updates; mean over seeds and learner groups of the
``episode_return`` metric) has not risen more than ``stop_tol`` above its best for
``stop_patience`` updates in a row; ``iterations`` stays the maximum budget (and the
learning-rate schedule is laid out over it). ``stop_patience = 0`` never stops early.
"""

from __future__ import annotations

import numpy as np


def mean_return(metrics: dict) -> np.ndarray:
    """float64 [updates]: ``episode_return`` averaged over seeds and groups (NaN-aware; an
    update in which no episode ended is NaN)."""
    rows = [np.asarray(m["episode_return"], np.float64).reshape(-1, np.shape(
        m["episode_return"])[-1]) for m in metrics.values()]
    stacked = np.concatenate(rows, axis=0)  # [seeds * groups, updates]
    finite = np.isfinite(stacked)
    total = np.where(finite, stacked, 0.0).sum(axis=0)
    count = finite.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def stop_update(returns: np.ndarray, window: int, patience: int, tol: float) -> int | None:
    """The update (1-based) at which the rule fires on ``returns`` [updates], or None.

    The moving average at update ``u`` is the mean of the finite returns of updates
    ``u - window + 1 .. u`` (from update ``window`` on); an update improves when its average
    exceeds the best so far by more than ``tol``.
    """
    if patience <= 0:
        return None
    best, since = -np.inf, 0
    for u in range(window - 1, len(returns)):
        part = returns[u - window + 1 : u + 1]
        part = part[np.isfinite(part)]
        if part.size == 0:
            continue
        avg = float(part.mean())
        if avg > best + tol:
            best, since = avg, 0
        else:
            since += 1
        if since >= patience:
            return u + 1
    return None

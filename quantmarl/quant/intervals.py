"""Confidence intervals on the host (NumPy float64, SciPy quantiles), for reports.

* :func:`t_interval`: Student-t interval ``center +- t_{(1+c)/2, df} * se``;
* :func:`mean_t_interval`: the t interval of a sample's mean (non-finite values dropped);
* :func:`wilson_interval`: Wilson score interval of a proportion ``k / n``;
* :func:`percentile_interval`: percentile interval of bootstrap replicates;
* :func:`mean_record`: ``{"mean", "ci95": [low, high]}`` of a sample, JSON-ready
  (:func:`finite_or_none`: non-finite figures become ``None``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as sps

__all__ = ["finite_or_none", "mean_record", "mean_t_interval", "percentile_interval",
           "t_interval", "wilson_interval"]

CONFIDENCE = 0.95


def t_interval(center: float, se: float, df: float,
               confidence: float = CONFIDENCE) -> tuple[float, float]:
    """``(low, high)`` of ``center +- t.ppf((1 + confidence) / 2, df) * se``; a zero
    ``se`` gives ``(center, center)``."""
    if se == 0.0:
        return center, center
    h = float(sps.t.ppf((1 + confidence) / 2, df)) * se
    return center - h, center + h


def mean_t_interval(x, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the finite values of ``x`` [n]: the t interval of the mean
    (``se = sd / sqrt(n)``, ``df = n - 1``). No finite value: NaNs; one value or no
    spread: ``(mean, mean, mean)``."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    lo, hi = t_interval(mean, sd / math.sqrt(x.size), x.size - 1, confidence)
    return mean, lo, hi


def wilson_interval(k: int, n: int, confidence: float = CONFIDENCE
                    ) -> tuple[float, float, float]:
    """``(k / n, low, high)``: the Wilson score interval of a proportion (clipped to
    contain ``k / n`` and to [0, 1]); ``n == 0`` gives NaNs."""
    if n == 0:
        return math.nan, math.nan, math.nan
    z = float(sps.norm.ppf((1 + confidence) / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def percentile_interval(replicates, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """``(low, high)``: the ``(1 - c) / 2`` and ``(1 + c) / 2`` linear quantiles of the
    bootstrap ``replicates`` [B]."""
    lo, hi = np.quantile(np.asarray(replicates, np.float64),
                         [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def finite_or_none(x) -> float | None:
    """``float(x)``, or ``None`` when it is not finite (JSON has no NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def mean_record(x, confidence: float = CONFIDENCE) -> dict:
    """``{"mean", "ci95": [low, high]}`` of :func:`mean_t_interval` (``None`` for NaN)."""
    m, lo, hi = mean_t_interval(x, confidence)
    return {"mean": finite_or_none(m), "ci95": [finite_or_none(lo), finite_or_none(hi)]}

"""A derivative-free search over the unit cube that suits batched evaluation.

Round 0 evaluates a scrambled Sobol design of ``initial_batches * batch`` points (even
coverage of ``[0, 1]^D``), whose first point may be replaced by a given ``start`` (the
market's current values: the search then never returns a point worse than where it
began). Each later round is one step of the cross-entropy method:
the ``n_elite`` best points evaluated so far (all rounds, so the best never gets worse)
give a diagonal Gaussian (mean, per-dimension std floored at ``min_std``), from which
``batch`` new points are drawn and clipped to the cube. Every round is exactly one
``evaluate`` call per ``batch`` points, so a compiled simulator of batch size ``batch``
is reused throughout. Non-finite losses (invalid or broken candidates) are never elite.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import qmc

__all__ = ["RoundLog", "SearchResult", "SearchSettings", "search"]


@dataclass(frozen=True)
class SearchSettings:
    """Budget and shape of the search (counts of candidates, not of market steps)."""

    batch: int = 128  # candidates per evaluate call (one compiled call)
    initial_batches: int = 2  # Sobol design of initial_batches * batch points
    rounds: int = 6  # cross-entropy rounds after the design
    elite: float = 0.1  # elite share of a batch (at least dim + 1 points)
    min_std: float = 0.02  # floor of the sampling std, unit-cube units
    seed: int = 0  # design scrambling and sampling


@dataclass(frozen=True)
class RoundLog:
    """One round: best loss so far, this round's median loss, invalid count, time."""

    round: int
    best_loss: float
    median_loss: float
    n_invalid: int  # non-finite losses in this round
    elapsed_s: float  # since the search started


@dataclass
class SearchResult:
    """Every evaluated point and loss, the best one, and the per-round log."""

    units: np.ndarray  # float64 [N, D] evaluated points in the unit cube
    losses: np.ndarray  # float64 [N] their losses (inf = invalid)
    rounds: list[RoundLog] = field(default_factory=list)

    @property
    def best(self) -> np.ndarray:
        """float64 [D]: the point with the lowest loss."""
        return self.units[int(np.argmin(self.losses))]

    @property
    def best_loss(self) -> float:
        """The lowest loss."""
        return float(np.min(self.losses))


def _design(dim: int, n: int, seed: int) -> np.ndarray:
    sobol = qmc.Sobol(d=dim, scramble=True, seed=seed)
    with warnings.catch_warnings():  # n need not be a power of two
        warnings.simplefilter("ignore", UserWarning)
        return sobol.random(n)


def _evaluate(evaluate: Callable[[np.ndarray], np.ndarray], units: np.ndarray,
              batch: int) -> np.ndarray:
    out = []
    for i in range(0, units.shape[0], batch):
        loss = np.asarray(evaluate(units[i:i + batch]), np.float64)
        if loss.shape != (units[i:i + batch].shape[0],):
            raise ValueError(f"evaluate must return one loss per point, got shape {loss.shape}")
        out.append(np.where(np.isfinite(loss), loss, np.inf))
    return np.concatenate(out)


def search(evaluate: Callable[[np.ndarray], np.ndarray], dim: int,
           settings: SearchSettings = SearchSettings(),
           on_round: Callable[[RoundLog], None] | None = None,
           start: np.ndarray | None = None) -> SearchResult:
    """Minimise ``evaluate`` (float64 [batch, dim] unit-cube points -> [batch] losses);
    ``start`` float [dim] (unit cube), when given, is the design's first point."""
    s = settings
    if dim < 1 or s.batch < 2 or s.initial_batches < 1 or s.rounds < 0:
        raise ValueError(f"search needs dim >= 1, batch >= 2, initial_batches >= 1, "
                         f"rounds >= 0; got dim={dim}, {s}")
    if not 0.0 < s.elite <= 1.0 or not 0.0 < s.min_std <= 1.0:
        raise ValueError(f"elite and min_std must be in (0, 1], got {s.elite}, {s.min_std}")
    rng = np.random.default_rng(s.seed)
    t0 = time.perf_counter()
    units = _design(dim, s.initial_batches * s.batch, s.seed)
    if start is not None:
        units[0] = np.clip(np.asarray(start, np.float64).reshape(dim), 0.0, 1.0)
    result = SearchResult(units, _evaluate(evaluate, units, s.batch))
    n_elite = max(dim + 1, math.ceil(s.elite * s.batch))

    def log(r: int, new: np.ndarray) -> None:
        entry = RoundLog(r, result.best_loss, float(np.median(new)),
                         int(np.sum(~np.isfinite(new))), time.perf_counter() - t0)
        result.rounds.append(entry)
        if on_round is not None:
            on_round(entry)

    log(0, result.losses)
    for r in range(1, s.rounds + 1):
        finite = np.flatnonzero(np.isfinite(result.losses))
        if finite.size == 0:
            raise ValueError("every candidate so far has a non-finite loss: check the fields' "
                             "bounds and the market config")
        elite = result.units[finite[np.argsort(result.losses[finite])[:n_elite]]]
        mean, std = elite.mean(axis=0), np.maximum(elite.std(axis=0), s.min_std)
        new = np.clip(mean + std * rng.standard_normal((s.batch, dim)), 0.0, 1.0)
        loss = _evaluate(evaluate, new, s.batch)
        result.units = np.concatenate([result.units, new])
        result.losses = np.concatenate([result.losses, loss])
        log(r, loss)
    return result

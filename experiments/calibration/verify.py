"""Verification of the search's best candidates by the realism check, in every clearing mode.

The search runs in one clearing mode (the fast call auction by default) on a few short
seeds; its winner can fail a stylised fact on fresh seeds (the winner's curse) or in the
other mode. :func:`verify` re-simulates the ``k`` best distinct candidates in the
calibrated market with each clearing mode, as ``python -m experiments.realism`` measures
a market (``seeds`` x ``steps`` after a ``burn_in``), on seeds of their own, with the
fundamental's jumps on and off (with jumps off only the facts that must emerge from the
agents count: kurtosis and ACF(|r|) at lag 1), in the order of their search loss, and
stops at the first that passes every required fact. :func:`choose` takes the candidate
with the fewest failed required facts, then the lowest search loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from experiments import realism
from quantmarl.market import MarketConfig, MarketParams, default_params

__all__ = ["NO_JUMP_FACTS", "Verdict", "choose", "top_distinct", "verify"]

NO_JUMP_FACTS = ("kurtosis", "abs_acf_1")  # required with the jumps off (emergent facts)


@dataclass(frozen=True)
class Verdict:
    """One candidate's realism check: its row in the search, loss, failed facts."""

    index: int  # row of the search's history
    loss: float  # search loss
    failed: tuple[str, ...]  # "<mode>:<fact>" or "<mode>/no-jumps:<fact>"
    facts: dict[str, dict[str, float]]  # "<mode>" or "<mode>/no-jumps" -> fact -> value

    @property
    def n_failed(self) -> int:
        """Number of failed required facts over every mode."""
        return len(self.failed)


def top_distinct(units: np.ndarray, losses: np.ndarray, k: int) -> list[int]:
    """Rows of the ``k`` lowest finite ``losses`` with distinct points ``units`` [N, D]."""
    out: list[int] = []
    for i in np.argsort(losses):
        if len(out) == k or not np.isfinite(losses[i]):
            break
        if all(not np.allclose(units[i], units[j]) for j in out):
            out.append(int(i))
    return out


def _failures(values: dict[str, float], label: str, only: tuple[str, ...] | None) -> list[str]:
    rows = realism.check(values)
    return [f"{label}:{r['name']}" for r in rows
            if r["required"] and not r["pass"] and (only is None or r["name"] in only)]


def verify(market: MarketConfig,
           candidates: list[tuple[int, float, Callable[[MarketParams], MarketParams]]],
           modes: tuple[str, ...], seeds: int, steps: int, burn_in: int, seed: int,
           log=print) -> list[Verdict]:
    """Check the candidates ``(index, loss, apply)`` in their order, where ``apply(base)``
    sets a candidate's values over a mode's default params, in ``market`` with each
    clearing mode of ``modes``, jumps on and off; stop after the first that fails nothing."""
    verdicts = []
    for index, loss, apply in candidates:
        facts: dict[str, dict[str, float]] = {}
        failed: list[str] = []
        for mode in modes:
            config = dataclasses.replace(market, clearing=mode)
            params = apply(default_params(config))
            for jumps in (True, False):
                label = mode if jumps else f"{mode}/no-jumps"
                p = params if jumps else realism.no_jumps(params)
                facts[label] = realism.measure_many(config, [p], seeds, steps, burn_in,
                                                    seed=seed)[0]
                failed += _failures(facts[label], label, None if jumps else NO_JUMP_FACTS)
        verdicts.append(Verdict(index, loss, tuple(failed), facts))
        log(f"verified search row {index} (loss {loss:.4g}) on {seeds} seeds x {steps} "
            f"steps: " + (", ".join(failed) or "every required fact passes"))
        if not failed:
            break
    return verdicts


def choose(verdicts: list[Verdict]) -> Verdict:
    """The verdict with the fewest failures, then the lowest loss."""
    if not verdicts:
        raise ValueError("no candidate to choose from: every search loss is non-finite")
    return min(verdicts, key=lambda v: (v.n_failed, v.loss))

"""A tiny experiment used by the runner tests: nested config, a fast ``run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import jax
import numpy as np
from matplotlib.figure import Figure

from experiments.runner import (
    ExperimentResult,
    ExperimentSpec,
    check_range,
    holm_adjust,
    paired_comparison,
    seed_keys,
    tracked,
    two_sample_comparison,
)


@dataclass(frozen=True)
class MarketPart:
    n_assets: int = 2
    vol: float = 0.01
    behaviours: tuple[tuple[str, int], ...] = (("noise", 10), ("momentum", 4))
    clearing: Literal["cda", "auction"] = "cda"

    def __post_init__(self) -> None:
        check_range("market.n_assets", self.n_assets, 1, 8)
        check_range("market.vol", self.vol, 0.0, 1.0, lo_open=True)


@dataclass(frozen=True)
class DummyConfig:
    QUICK: ClassVar[dict] = {"steps": 20, "market.n_assets": 1}

    seeds: int = 6
    seed: int = 0
    steps: int = 200
    shift: float = 0.5
    label: str = "base"
    flags: tuple[bool, ...] = (True, False)
    threshold: float | None = None
    market: MarketPart = field(default_factory=MarketPart)

    def __post_init__(self) -> None:
        check_range("steps", self.steps, 1, 10_000)


def run(config: DummyConfig, out_dir: Path) -> ExperimentResult:
    """Per-seed metrics from seeded keys; deterministic given the config."""
    keys = seed_keys(config.seed, config.seeds)
    rng = [np.random.default_rng(k.tolist()) for k in np.asarray(jax.random.key_data(keys))]
    base = np.array([r.normal(size=config.steps).std() for r in rng])
    treated = base + config.shift + np.linspace(0, 0.1, config.seeds)
    for _ in tracked(["base", "treated"], "dummy"):
        pass
    fig = Figure(figsize=(3, 2))
    fig.add_subplot(1, 1, 1).plot(base, treated, "o")
    findings = holm_adjust([
        paired_comparison(treated, base, "treatment raises the metric", "vol",
                          alternative="greater"),
        two_sample_comparison(treated, base, "arms differ", "vol", test="mannwhitney"),
    ])
    return ExperimentResult(
        findings=findings,
        per_seed={"base": base, "treated": treated},
        figures=[("scatter.png", fig, "treated vs base")],
        notes="A dummy experiment.",
        tables={"summary": {"arm": np.array(["base", "treated"]),
                            "mean": np.array([base.mean(), treated.mean()])}},
    )


SPEC = ExperimentSpec(name="dummy", title="Dummy experiment", config_cls=DummyConfig, run=run)

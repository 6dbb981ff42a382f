"""Request bodies of the service (pydantic): unknown fields are refused, every bound is
declared, so a bad request is a 422 naming the field before anything runs."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from quantmarl.serve.simulation import SimulationError

MAX_STEPS = 100_000  # steps per request (an episode bounds it further)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulationCreate(Body):
    """A simulation: a training-config mapping (``python -m quantmarl.train``'s YAML
    schema: ``agent_types`` and ``agents_per_type`` give the smart-tier slots, ``market``
    the market), applied on top of ``preset``."""

    config: dict[str, Any] = Field(default_factory=dict)
    config_yaml: str | None = Field(None, max_length=1 << 16,
                                    description="the config as YAML text, instead of config")
    preset: Literal["smoke", "quick", "default"] = "smoke"
    seed: int = Field(0, ge=0, le=2**31 - 1)
    remote_timeout: float = Field(5.0, gt=0, le=600, description="s a step waits for the "
                                  "remote slots' actions")


class StepRequest(Body):
    steps: int = Field(1, ge=1, le=MAX_STEPS)


class AgentCreate(Body):
    """Bind a smart-tier slot (``agent``; default: the first slot on ``hold``). A
    ``checkpoint`` controller names a checkpoint directory inside the server's
    ``--models`` (and which trained seed of it, ``checkpoint_seed``)."""

    agent: str | None = None
    controller: Literal["random", "scripted", "remote", "manual", "hold",
                        "checkpoint"] = "scripted"
    checkpoint: str | None = Field(None, max_length=512)
    checkpoint_seed: int = Field(0, ge=0, le=4095)


class ActionRequest(Body):
    """A remote or manual slot's action in its group's action space (a list of ints)."""

    action: list[int] = Field(..., min_length=1, max_length=16)


class EventCreate(Body):
    """An event now (``start`` omitted) or at a step. ``magnitude`` as in
    :data:`quantmarl.events.EVENT_KINDS` (fraction, multiplier, jump or lots)."""

    kind: Literal["flash_crash", "flash_rally", "volatility_spike", "liquidity_shock",
                  "news_event", "sell_program"]
    magnitude: float
    duration: int = Field(1, ge=1, le=2**31 - 1)
    start: int | None = Field(None, ge=0, le=2**31 - 2)
    asset: int = Field(-1, ge=-1)


class BreakerConfig(Body):
    """Circuit-breaker rules (see :func:`quantmarl.events.breaker_rules`)."""

    enabled: bool = True
    threshold: float = Field(0.1, gt=0, lt=1)
    window: int = Field(1, ge=1)
    halt_steps: int = Field(1, ge=1, le=2**31 - 1)
    band: float = Field(0.0, ge=0, lt=1)


class JobCreate(Body):
    """A training run (``kind="train"``: ``preset``, default smoke when ``quick``) or an
    experiment (``herding``, ``volatility``, ``liquidity``: ``quick`` settings), with an
    optional config mapping (the command's ``--config`` YAML) and seed count."""

    kind: Literal["train", "herding", "volatility", "liquidity"]
    quick: bool = True
    preset: Literal["smoke", "quick", "default"] | None = None
    seeds: int | None = Field(None, ge=1, le=4096)
    config: dict[str, Any] = Field(default_factory=dict)
    config_yaml: str | None = Field(None, max_length=1 << 16,
                                    description="the config as YAML text, instead of config")


def config_mapping(config: dict[str, Any], config_yaml: str | None) -> dict[str, Any]:
    """A request's config: ``config``, or ``config_yaml`` parsed with ``yaml.safe_load``
    (a :class:`~quantmarl.serve.simulation.SimulationError` naming ``config_yaml`` when it
    is not a YAML mapping, or when both are given)."""
    if config_yaml is None:
        return config
    if config:
        raise SimulationError("config_yaml", "give config or config_yaml, not both")
    try:
        data = yaml.safe_load(config_yaml)
    except yaml.YAMLError as err:
        raise SimulationError("config_yaml", f"config_yaml is not YAML: {err}") from None
    if data is not None and not isinstance(data, dict):
        raise SimulationError("config_yaml", "config_yaml must be a YAML mapping, got "
                              f"{type(data).__name__}")
    return data or {}

"""Training configuration: a validated, YAML-loadable dataclass, and the learner presets.

``TrainConfig`` holds everything ``make_train`` needs: which learners (agent
types, how many of each), the market they trade in, the PPO hyper-parameters
and the frozen opponents. Every field is checked in ``__post_init__``; a bad
value raises ``ValueError`` naming the field, the value and what is allowed,
before anything is traced. ``TrainConfig.from_dict`` / ``from_yaml`` refuse
unknown keys, naming them and the accepted ones.

Agent types (:data:`AGENT_TYPES`) are :class:`~quantmarl.env.AgentGroup` presets:

* ``market_maker``: two-sided quotes (``market_maker`` actions), extended
  observations with depth, reward PnL minus an inventory penalty;
* ``momentum_trader``: market orders (``discrete``), extended observations
  (RSI, momentum), reward PnL;
* ``arbitrageur``: limit orders, extended observations plus ``basis`` (its
  asset against the index of all assets), reward PnL; needs ``n_assets >= 2``
  (a one-asset config is given a second, correlated asset);
* ``trader``: the environment's default learner (market orders, default
  observations, PnL with inventory penalty).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from quantmarl.env.functional import AgentGroup

AGENT_TYPES: dict[str, AgentGroup] = {
    "market_maker": AgentGroup(name="market_maker", action="market_maker",
                               observation="extended_depth", reward="pnl_inventory",
                               n_offsets=5, n_sizes=3, size_unit=5),
    "momentum_trader": AgentGroup(name="momentum_trader", action="discrete",
                                  observation="extended", reward="pnl", trade_size=10),
    "arbitrageur": AgentGroup(
        name="arbitrageur", action="limit", reward="pnl", asset=0, n_offsets=4, n_sizes=3,
        size_unit=5,
        observation=("price", "fundamental", "volatility", "spread", "imbalance", "returns",
                     "inventory", "cash_ratio", "time_left", "momentum", "basis")),
    "trader": AgentGroup(),
}
ALGORITHMS = ("ippo", "mappo")
CLEARING = ("auction", "cda")
ACTIVATIONS = ("tanh", "relu")
NETWORKS = ("mlp", "gru")


def _int(name: str, v: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"TrainConfig.{name} must be an int {rng}, got {v!r}")


def _float(name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = (not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
          and (v > lo if lo_open else v >= lo) and v <= hi)
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"TrainConfig.{name} must be a number in {bracket}{lo}, {hi}], "
                         f"got {v!r}")


def _bool(name: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise ValueError(f"TrainConfig.{name} must be a bool, got {v!r}")


def _choice(name: str, v: Any, allowed: tuple[str, ...]) -> None:
    if v not in allowed:
        raise ValueError(f"TrainConfig.{name} must be one of {allowed}, got {v!r}")


@dataclass(frozen=True)
class TrainConfig:
    """PPO training run (static: hashable, one compile per config)."""

    # learners
    agent_types: tuple[str, ...] = ("momentum_trader",)  # keys of AGENT_TYPES, one group each
    agents_per_type: int = 1  # learners per group
    algorithm: str = "ippo"  # "ippo" (independent critics) or "mappo" (centralised critic)
    share_params: bool = True  # one network per group (else one per learner)
    opponents: tuple[str, ...] = ()  # checkpoint directories loaded as frozen policies
    opponent_seed: int = 0  # which trained seed of each opponent checkpoint to load
    # market
    clearing: str = "auction"
    n_assets: int = 1
    episode_length: int = 200  # steps
    background_orders: int = 64  # per step per asset
    reactive: tuple[tuple[str, int], ...] | None = None  # None: the market's default mix
    correlation: float = 0.8  # fundamental shock correlation between assets (n_assets > 1)
    # PPO
    n_envs: int = 64  # parallel environments per seed
    n_steps: int = 64  # rollout length per update
    iterations: int = 100  # updates
    update_epochs: int = 4
    n_minibatches: int = 4
    lr: float = 3e-4
    anneal_lr: bool = True  # linear decay to 0 over all updates
    max_grad_norm: float = 0.5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    clip_value: bool = True
    reward_scale: float = 1e4  # rewards x this before GAE (1e4: basis points of wealth)
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    network: str = "mlp"  # "mlp" (feedforward) or "gru" (recurrent actor, see networks.py)
    gru_size: int = 64  # GRU units when network == "gru"
    # seeds
    seed: int = 0
    seeds: int = 1  # independent runs, vmapped in one compiled call

    def __post_init__(self) -> None:
        types = self.agent_types
        if isinstance(types, str):
            types = (types,)
        types = tuple(types)
        object.__setattr__(self, "agent_types", types)
        if not types:
            raise ValueError("TrainConfig.agent_types must name at least one agent type")
        for t in types:
            _choice("agent_types[]", t, tuple(AGENT_TYPES))
        if len(set(types)) != len(types):
            raise ValueError(f"TrainConfig.agent_types must not repeat a type, got {types}")
        _int("agents_per_type", self.agents_per_type, 1, 256)
        _choice("algorithm", self.algorithm, ALGORITHMS)
        _bool("share_params", self.share_params)
        object.__setattr__(self, "opponents", tuple(str(o) for o in self.opponents))
        _int("opponent_seed", self.opponent_seed, 0)
        _choice("clearing", self.clearing, CLEARING)
        _int("n_assets", self.n_assets, 1, 64)
        _int("episode_length", self.episode_length, 1, 10**7)
        _int("background_orders", self.background_orders, 0, 10**6)
        if self.reactive is not None:
            try:
                reactive = tuple((str(n), c) for n, c in self.reactive)
            except (TypeError, ValueError):
                raise ValueError("TrainConfig.reactive must be a list of [behaviour, count] "
                                 f"pairs or null, got {self.reactive!r}") from None
            object.__setattr__(self, "reactive", reactive)
        _float("correlation", self.correlation, -0.99, 0.99)
        _int("n_envs", self.n_envs, 1, 1 << 20)
        _int("n_steps", self.n_steps, 1, 1 << 16)
        _int("iterations", self.iterations, 1, 10**7)
        _int("update_epochs", self.update_epochs, 1, 1000)
        _int("n_minibatches", self.n_minibatches, 1, 1 << 16)
        if (self.n_envs * self.n_steps) % self.n_minibatches:
            raise ValueError(f"TrainConfig.n_minibatches ({self.n_minibatches}) must divide "
                             f"n_envs * n_steps ({self.n_envs * self.n_steps})")
        _float("lr", self.lr, 0.0, 1.0, lo_open=True)
        _bool("anneal_lr", self.anneal_lr)
        _float("max_grad_norm", self.max_grad_norm, 0.0, 1e6, lo_open=True)
        _float("gamma", self.gamma, 0.0, 1.0)
        _float("gae_lambda", self.gae_lambda, 0.0, 1.0)
        _float("clip_eps", self.clip_eps, 0.0, 10.0, lo_open=True)
        _float("vf_coef", self.vf_coef, 0.0, 1e3)
        _float("ent_coef", self.ent_coef, 0.0, 1e3)
        _bool("clip_value", self.clip_value)
        _float("reward_scale", self.reward_scale, 0.0, 1e12, lo_open=True)
        hidden = tuple(self.hidden) if isinstance(self.hidden, list | tuple) else self.hidden
        if not isinstance(hidden, tuple) or not hidden or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"TrainConfig.hidden must be a non-empty list of positive ints, "
                             f"got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("network", self.network, NETWORKS)
        _int("gru_size", self.gru_size, 1, 4096)
        if self.network == "gru" and self.n_envs % self.n_minibatches:
            raise ValueError(f"TrainConfig.n_minibatches ({self.n_minibatches}) must divide "
                             f"n_envs ({self.n_envs}) when network is 'gru' (recurrent "
                             "minibatches are whole environment sequences)")
        _int("seed", self.seed, 0, 2**31 - 1)
        _int("seeds", self.seeds, 1, 4096)

    # ----- derived -----
    @property
    def minibatch_size(self) -> int:
        return self.n_envs * self.n_steps // self.n_minibatches

    @property
    def env_steps_per_update(self) -> int:
        return self.n_envs * self.n_steps

    @property
    def market_assets(self) -> int:
        """Assets in the market: at least 2 when an arbitrageur trades."""
        return max(self.n_assets, 2) if "arbitrageur" in self.agent_types else self.n_assets

    def groups(self) -> tuple[AgentGroup, ...]:
        """The learner groups, one per agent type."""
        return tuple(dataclasses.replace(AGENT_TYPES[t], count=self.agents_per_type)
                     for t in self.agent_types)

    # ----- (de)serialisation -----
    def to_dict(self) -> dict:
        """Plain YAML/JSON-able dict (tuples become lists); ``from_dict`` inverts it."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = json.loads(json.dumps(v))  # tuples -> lists, recursively
        return out

    @classmethod
    def from_dict(cls, data: dict | None, **overrides: Any) -> TrainConfig:
        """Build from a mapping (and keyword overrides); unknown keys raise ``ValueError``."""
        data = dict(data or {})
        data.update({k: v for k, v in overrides.items() if v is not None})
        accepted = [f.name for f in fields(cls)]
        unknown = sorted(k for k in data if k not in accepted)
        if unknown:
            raise ValueError(f"unknown TrainConfig key(s) {unknown}; accepted: "
                             f"{', '.join(accepted)}")
        for k in ("agent_types", "hidden", "opponents"):
            if isinstance(data.get(k), list):
                data[k] = tuple(data[k])
        if isinstance(data.get("reactive"), list):
            data["reactive"] = tuple(tuple(p) if isinstance(p, list) else p
                                     for p in data["reactive"])
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        return cls.from_dict(read_yaml_mapping(path), **overrides)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def read_yaml_mapping(path: str | Path) -> dict:
    """The mapping in a YAML file (empty file: ``{}``); anything else is a ``ValueError``."""
    data = yaml.safe_load(Path(path).read_text())
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: a training config must be a YAML mapping, "
                         f"got {type(data).__name__}")
    return dict(data or {})


PRESETS: dict[str, dict[str, Any]] = {
    # finishes in well under a minute on a 2-core CPU (compile included)
    "smoke": dict(n_envs=16, n_steps=32, iterations=8, update_epochs=2, n_minibatches=2,
                  episode_length=64, background_orders=16, hidden=(32, 32), seeds=2,
                  reactive=(("market_maker", 2), ("fundamental", 8), ("momentum", 4),
                            ("noise", 8))),
    # a few minutes on a 2-core CPU
    "quick": dict(n_envs=32, n_steps=64, iterations=60, episode_length=100, seeds=4),
    "default": {},
}

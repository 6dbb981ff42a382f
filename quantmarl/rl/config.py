"""Training configuration: a validated, YAML-loadable dataclass, and the learner presets.

``TrainConfig`` holds everything ``make_train`` needs: which learners (agent
types, how many of each), the market they trade in, the PPO hyper-parameters
and the frozen opponents. Every field is checked in ``__post_init__``; a bad
value raises ``ValueError`` naming the field, the value and what is allowed,
before anything is traced. ``TrainConfig.from_dict`` / ``from_yaml`` refuse
unknown keys, naming them and the accepted ones.

The market is the market's own :class:`~quantmarl.market.MarketConfig`
(``TrainConfig.market``), with training defaults (:data:`TRAIN_MARKET`: batch
auction, one asset, 200-step episodes, 64 background orders per step per asset,
the market's default reactive mix); in YAML it is the mapping under ``market:``
(or dotted keys such as ``market.n_assets``), validated by ``MarketConfig``.

Agent types (:data:`AGENT_TYPES`) are :class:`~quantmarl.env.AgentGroup` presets:

* ``market_maker``: two-sided quotes (``market_maker`` actions), extended
  observations with depth, reward PnL minus an inventory penalty;
* ``momentum_trader``: market orders (``discrete``), extended observations
  (gain ratio, momentum), reward PnL;
* ``arbitrageur``: limit orders, extended observations plus ``basis`` (its
  asset against the index of all assets), reward PnL; needs ``n_assets >= 2``
  (a one-asset config is given a second, correlated asset);
* ``trader``: the environment's default learner (market orders, default
  observations, PnL with inventory penalty).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from quantmarl._validate import check_bool, check_choice, check_float, check_int
from quantmarl.env.functional import AgentGroup
from quantmarl.market.config import MarketConfig

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
ACTIVATIONS = ("tanh", "relu")
NETWORKS = ("mlp", "gru")

#: the market learners train in unless a config says otherwise
TRAIN_MARKET = MarketConfig(clearing="auction", n_assets=1, episode_length=200)


def train_market(**changes: Any) -> MarketConfig:
    """:data:`TRAIN_MARKET` with ``changes`` (``MarketConfig`` fields) applied and validated."""
    return dataclasses.replace(TRAIN_MARKET, **changes)


def _int(name: str, v: Any, lo: int, hi: int | None = None) -> None:
    check_int(f"TrainConfig.{name}", v, lo, hi, allow_numpy=False)


def _float(name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    check_float(f"TrainConfig.{name}", v, lo, hi, lo_open=lo_open, allow_numpy=False)


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
    # market: its static config, and the one market param training sets
    market: MarketConfig = TRAIN_MARKET  # n_smart is set by the env (one slot per learner)
    correlation: float = 0.8  # MarketParams: fundamental shock correlation between assets
    stress_prob: float = 0.0  # per episode, chance of each random stress kind (events.draws)
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
    normalize_obs: bool = True  # standardise inputs with running statistics (rl.normalize)
    normalize_reward: bool = False  # rewards / running std of the discounted return
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    network: str = "mlp"  # "mlp" (feedforward) or "gru" (recurrent actor, see networks.py)
    gru_size: int = 64  # GRU units when network == "gru"
    # early stopping (quantmarl.rl.stopping): iterations is then the maximum budget
    stop_patience: int = 0  # updates without improvement before stopping (0: never early)
    stop_window: int = 10  # updates in the moving average of the mean episode return
    stop_tol: float = 0.0  # improvement needed, in episode-return units (scaled rewards)
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
            check_choice("TrainConfig.agent_types[]", t, tuple(AGENT_TYPES))
        if len(set(types)) != len(types):
            raise ValueError(f"TrainConfig.agent_types must not repeat a type, got {types}")
        _int("agents_per_type", self.agents_per_type, 1, 256)
        check_choice("TrainConfig.algorithm", self.algorithm, ALGORITHMS)
        check_bool("TrainConfig.share_params", self.share_params)
        object.__setattr__(self, "opponents", tuple(str(o) for o in self.opponents))
        _int("opponent_seed", self.opponent_seed, 0)
        if not isinstance(self.market, MarketConfig):
            raise ValueError(f"TrainConfig.market must be a MarketConfig (or, in from_dict, a "
                             f"mapping of its fields), got {self.market!r}")
        _float("correlation", self.correlation, -0.99, 0.99)
        _float("stress_prob", self.stress_prob, 0.0, 1.0)
        _int("n_envs", self.n_envs, 1, 1 << 20)
        _int("n_steps", self.n_steps, 1, 1 << 16)
        _int("iterations", self.iterations, 1, 10**7)
        _int("update_epochs", self.update_epochs, 1, 1000)
        _int("n_minibatches", self.n_minibatches, 1, 1 << 16)
        if (self.n_envs * self.n_steps) % self.n_minibatches:
            raise ValueError(f"TrainConfig.n_minibatches ({self.n_minibatches}) must divide "
                             f"n_envs * n_steps ({self.n_envs * self.n_steps})")
        _float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_bool("TrainConfig.anneal_lr", self.anneal_lr)
        _float("max_grad_norm", self.max_grad_norm, 0.0, 1e6, lo_open=True)
        _float("gamma", self.gamma, 0.0, 1.0)
        _float("gae_lambda", self.gae_lambda, 0.0, 1.0)
        _float("clip_eps", self.clip_eps, 0.0, 10.0, lo_open=True)
        _float("vf_coef", self.vf_coef, 0.0, 1e3)
        _float("ent_coef", self.ent_coef, 0.0, 1e3)
        check_bool("TrainConfig.clip_value", self.clip_value)
        _float("reward_scale", self.reward_scale, 0.0, 1e12, lo_open=True)
        check_bool("TrainConfig.normalize_obs", self.normalize_obs)
        check_bool("TrainConfig.normalize_reward", self.normalize_reward)
        hidden = tuple(self.hidden) if isinstance(self.hidden, list | tuple) else self.hidden
        if not isinstance(hidden, tuple) or not hidden or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"TrainConfig.hidden must be a non-empty list of positive ints, "
                             f"got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        check_choice("TrainConfig.activation", self.activation, ACTIVATIONS)
        check_choice("TrainConfig.network", self.network, NETWORKS)
        _int("gru_size", self.gru_size, 1, 4096)
        if self.network == "gru" and self.n_envs % self.n_minibatches:
            raise ValueError(f"TrainConfig.n_minibatches ({self.n_minibatches}) must divide "
                             f"n_envs ({self.n_envs}) when network is 'gru' (recurrent "
                             "minibatches are whole environment sequences)")
        _int("stop_patience", self.stop_patience, 0, 10**7)
        _int("stop_window", self.stop_window, 1, 10**6)
        _float("stop_tol", self.stop_tol, 0.0, 1e12)
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
        n = self.market.n_assets
        return max(n, 2) if "arbitrageur" in self.agent_types else n

    def env_market(self) -> MarketConfig:
        """``market`` with :attr:`market_assets` assets: the market the env is built on."""
        return dataclasses.replace(self.market, n_assets=self.market_assets)

    def groups(self) -> tuple[AgentGroup, ...]:
        """The learner groups, one per agent type."""
        return tuple(dataclasses.replace(AGENT_TYPES[t], count=self.agents_per_type)
                     for t in self.agent_types)

    # ----- (de)serialisation -----
    def to_dict(self) -> dict:
        """Plain YAML/JSON-able dict (``market`` a nested dict, tuples lists);
        ``from_dict`` inverts it."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["market"] = dataclasses.asdict(self.market)
        return json.loads(json.dumps(out))  # tuples -> lists, recursively

    @classmethod
    def from_dict(cls, data: Mapping | None, **overrides: Any) -> TrainConfig:
        """Build from a mapping (and keyword overrides, ``None`` ones skipped).

        ``market`` is a mapping of :class:`MarketConfig` fields applied to
        :data:`TRAIN_MARKET`; dotted keys (``"market.n_assets": 2``) are merged
        into it, later keys winning. Unknown keys raise ``ValueError`` naming them.
        """
        data = _nest_dotted({**(data or {}),
                             **{k: v for k, v in overrides.items() if v is not None}})
        accepted = [f.name for f in fields(cls)]
        unknown = sorted(k for k in data if k not in accepted)
        if unknown:
            market_keys = sorted(set(unknown) & {f.name for f in fields(MarketConfig)})
            hint = (f" (market settings go under 'market', e.g. market.{market_keys[0]})"
                    if market_keys else "")
            raise ValueError(f"unknown TrainConfig key(s) {unknown}{hint}; accepted: "
                             f"{', '.join(accepted)}")
        for k in ("agent_types", "hidden", "opponents"):
            if isinstance(data.get(k), list):
                data[k] = tuple(data[k])
        if isinstance(data.get("market"), Mapping):
            data["market"] = _market_from_dict(data["market"])
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


def _nest_dotted(data: Mapping) -> dict:
    """``{"market.n_assets": 2}`` -> ``{"market": {"n_assets": 2}}``; dotted keys and
    nested mappings of one head merge, later keys winning."""
    out: dict = {}
    for key, value in data.items():
        head, dot, rest = str(key).partition(".")
        if dot:
            value = {rest: value}
        inner = out.get(head)
        if isinstance(value, Mapping) and isinstance(inner, Mapping):
            value = {**inner, **value}
        out[head] = value
    return out


def _freeze(value: Any) -> Any:
    """Lists -> tuples, recursively (YAML gives lists, ``MarketConfig`` wants tuples)."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list | tuple) else value


def _market_from_dict(data: Mapping) -> MarketConfig:
    """:data:`TRAIN_MARKET` with the fields in ``data``; errors name ``TrainConfig.market.*``."""
    accepted = [f.name for f in fields(MarketConfig)]
    unknown = sorted(f"market.{k}" for k in data if k not in accepted)
    if unknown:
        raise ValueError(f"unknown TrainConfig key(s) {unknown}; accepted under market: "
                         f"{', '.join(accepted)}")
    try:
        return train_market(**{k: _freeze(v) for k, v in data.items()})
    except ValueError as err:
        raise ValueError(f"TrainConfig.market.{err}") from None


#: named base settings (dotted market keys, so that a YAML ``market:`` mapping merges in)
PRESETS: dict[str, dict[str, Any]] = {
    # finishes in well under a minute on a 2-core CPU (compile included)
    "smoke": dict(n_envs=16, n_steps=32, iterations=8, update_epochs=2, n_minibatches=2,
                  hidden=(32, 32), seeds=2, **{
                      "market.episode_length": 64, "market.background_orders": 16,
                      "market.reactive": (("market_maker", 2), ("fundamental", 8),
                                          ("momentum", 4), ("noise", 8))}),
    # a few minutes on a 2-core CPU
    "quick": dict(n_envs=32, n_steps=64, iterations=60, seeds=4,
                  **{"market.episode_length": 100}),
    "default": {},
}

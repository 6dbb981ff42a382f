"""The environment's configs and state: static ``AgentGroup`` / ``EnvConfig`` (hashable,
validated on construction) and the pytrees ``EnvParams`` / ``EnvState``.

Shapes use ``n`` for the number of learners (all groups' ``count`` added up, in
group order) and ``A`` for the market's assets.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import jax
from flax import struct

from quantmarl._validate import check_bool, check_choice, check_identifier, check_int
from quantmarl.env.actions import ACTIONS
from quantmarl.env.observations import resolve_spec
from quantmarl.env.rewards import RewardParams, get_reward
from quantmarl.events.draws import RandomStress
from quantmarl.market import MarketConfig, MarketParams
from quantmarl.market.state import MarketState

__all__ = ["AgentGroup", "EnvConfig", "EnvParams", "EnvState"]


@dataclass(frozen=True)
class AgentGroup:
    """A named group of learners sharing an action encoding, observation spec and reward.

    Its agents are named ``f"{name}_{i}"`` for ``i < count``.
    """

    name: str = "trader"  # identifier; prefix of the agent names
    count: int = 1  # learners in the group (>= 1)
    action: str = "discrete"  # a registered action encoding (quantmarl.env.actions)
    observation: str | tuple[str, ...] = "default"  # spec name or tuple of feature names
    reward: str = "pnl_inventory"  # a registered reward (quantmarl.env.rewards)
    asset: int = 0  # the asset the group trades and observes
    trade_size: int = 10  # lots per market order ("discrete")
    n_offsets: int = 5  # tick offsets to choose from ("limit", "market_maker")
    n_sizes: int = 3  # size buckets ("limit", "market_maker")
    size_unit: int = 5  # lots per size bucket

    def __post_init__(self) -> None:
        check_identifier("AgentGroup.name", self.name)
        for f, lo in (("count", 1), ("trade_size", 1), ("n_offsets", 1), ("n_sizes", 1),
                      ("size_unit", 1), ("asset", 0)):
            check_int(f"AgentGroup.{f}", getattr(self, f), lo, allow_numpy=False)
        check_choice("AgentGroup.action", self.action, tuple(ACTIONS))
        resolve_spec(self.observation)
        get_reward(self.reward)


@dataclass(frozen=True)
class EnvConfig:
    """Static environment structure (hashable).

    ``market.n_smart`` is set to the number of learners (the learners are the
    market's smart tier).
    """

    groups: tuple[AgentGroup, ...] = (AgentGroup(),)  # non-empty, unique names
    market: MarketConfig = field(default_factory=lambda: MarketConfig(
        background_orders=64, episode_length=200))
    auto_reset: bool = False  # reset inside step when every learner is done

    def __post_init__(self) -> None:
        if not self.groups or not all(isinstance(g, AgentGroup) for g in self.groups):
            raise ValueError("groups must be a non-empty tuple of AgentGroup")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"group names must be unique, got {names}")
        for g in self.groups:
            if g.asset >= self.market.n_assets:
                raise ValueError(f"AgentGroup {g.name!r}: asset {g.asset} is out of range for "
                                 f"n_assets={self.market.n_assets}")
        check_bool("auto_reset", self.auto_reset)
        n = sum(g.count for g in self.groups)
        if self.market.n_smart != n:  # the learners are the market's smart tier
            object.__setattr__(self, "market", replace(self.market, n_smart=n))


@struct.dataclass
class EnvParams:
    """Dynamic environment parameters (a pytree; ``vmap``-able like ``MarketParams``)."""

    market: MarketParams  # the market's dynamics (see quantmarl.market.config)
    reward: RewardParams  # reward weights (see quantmarl.env.rewards)
    bankrupt_floor: jax.Array  # float64 [] fraction of initial wealth below which a learner is out
    stress: RandomStress  # random stress events drawn at every reset (quantmarl.events.draws)


@struct.dataclass
class EnvState:
    """Everything that changes during an episode."""

    market: MarketState  # the whole market (book, ledger, history, events, ...)
    wealth: jax.Array  # float32 [n] marked wealth / initial wealth
    carry: jax.Array  # float32 [n, 2] reward state (e.g. the Sharpe EMAs)
    alive: jax.Array  # bool [n] not yet terminated or truncated
    episode_return: jax.Array  # float32 [n] rewards summed since the reset

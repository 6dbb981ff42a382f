"""A jittable multi-agent environment over the market step (gymnax / JaxMARL style).

``env = MarketEnv(EnvConfig(...))``;
``obs, state = env.reset(key, params)``;
``obs, state, rewards, terminations, truncations, infos = env.step(key, state, actions, params)``.
Every dict is keyed by agent name; everything is jittable and vmappable.

Learners come in named groups (``AgentGroup``), e.g. ``market_maker_0``,
``momentum_0``: each group has its own action encoding, observation spec and
reward. The rest of the market is the reactive and background population of
``EnvConfig.market``.

Actions (``AgentGroup.action``):

* ``"discrete"``: ``Discrete(3)``, 0 hold, 1 market buy, 2 market sell of ``trade_size`` lots;
* ``"limit"``: ``MultiDiscrete([3, n_offsets, n_sizes, 2])``: side (0 hold, 1 buy, 2 sell),
  limit offset ``i`` ticks on the passive side of the mid, size ``size_unit * (j + 1)`` lots,
  cancel flag (1 = cancel all resting orders instead);
* ``"market_maker"``: ``MultiDiscrete([n_offsets, n_offsets, n_sizes])``: bid ``1 + i`` ticks
  below and ask ``1 + k`` ticks above the mid, ``size_unit * (j + 1)`` lots each side.

An action outside its space is treated as hold by this functional core and
counted in ``infos[agent]["invalid_action"]`` (the PettingZoo/Gymnasium shells
raise ``ValueError`` instead). A learner whose marked wealth falls below
``bankrupt_floor`` of its initial wealth is terminated; its later actions are
ignored. All learners are truncated at ``episode_length``. With
``auto_reset`` the state is reset when every learner is done (the returned
observations are then the new episode's, as in gymnax).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces

from quantmarl.env.observations import ObsContext, obs_size, observe, resolve_spec
from quantmarl.env.rewards import RewardContext, RewardParams, default_reward_params, get_reward
from quantmarl.market import MarketConfig, MarketParams, default_params, reset, step
from quantmarl.market.smart import ActionKind, SmartActions
from quantmarl.market.state import MarketState

ACTION_TYPES = ("discrete", "limit", "market_maker")


@dataclass(frozen=True)
class AgentGroup:
    """A named group of learners sharing an action encoding, observation spec and reward."""

    name: str = "trader"
    count: int = 1
    action: str = "discrete"
    observation: str | tuple[str, ...] = "default"
    reward: str = "pnl_inventory"
    asset: int = 0
    trade_size: int = 10  # lots per market order ("discrete")
    n_offsets: int = 5  # tick offsets to choose from ("limit", "market_maker")
    n_sizes: int = 3  # size buckets ("limit", "market_maker")
    size_unit: int = 5  # lots per size bucket

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"AgentGroup.name must be an identifier, got {self.name!r}")
        for f, lo in (("count", 1), ("trade_size", 1), ("n_offsets", 1), ("n_sizes", 1),
                      ("size_unit", 1), ("asset", 0)):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"AgentGroup.{f} must be an int >= {lo}, got {v!r}")
        if self.action not in ACTION_TYPES:
            raise ValueError(f"AgentGroup.action must be one of {ACTION_TYPES}, got "
                             f"{self.action!r}")
        resolve_spec(self.observation)
        get_reward(self.reward)


@dataclass(frozen=True)
class EnvConfig:
    """Static environment structure (hashable)."""

    groups: tuple[AgentGroup, ...] = (AgentGroup(),)
    market: MarketConfig = field(default_factory=lambda: MarketConfig(
        background_orders=64, episode_length=200))
    auto_reset: bool = False

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
        if not isinstance(self.auto_reset, bool):
            raise ValueError(f"auto_reset must be a bool, got {self.auto_reset!r}")
        n = sum(g.count for g in self.groups)
        if self.market.n_smart != n:  # the learners are the market's smart tier
            object.__setattr__(self, "market", replace(self.market, n_smart=n))


@struct.dataclass
class EnvParams:
    market: MarketParams
    reward: RewardParams
    bankrupt_floor: jax.Array  # float [] fraction of initial wealth below which a learner is out


@struct.dataclass
class EnvState:
    market: MarketState
    wealth: jax.Array  # float32 [n_learners] marked wealth / initial wealth
    carry: jax.Array  # float32 [n_learners, 2] reward state
    alive: jax.Array  # bool [n_learners]
    episode_return: jax.Array  # float32 [n_learners]


class MarketEnv:
    """Functional multi-agent market environment."""

    def __init__(self, config: EnvConfig | None = None):
        self.config = config if config is not None else EnvConfig()
        self.agents: tuple[str, ...] = tuple(
            f"{g.name}_{i}" for g in self.config.groups for i in range(g.count))
        self._group_of = tuple(gi for gi, g in enumerate(self.config.groups)
                               for _ in range(g.count))
        self._specs = tuple(resolve_spec(g.observation) for g in self.config.groups)
        self._obs_spaces = {}
        self._act_spaces = {}
        for name, gi in zip(self.agents, self._group_of, strict=True):
            g = self.config.groups[gi]
            self._obs_spaces[name] = spaces.Box(-np.inf, np.inf, (obs_size(self._specs[gi]),),
                                                np.float32)
            self._act_spaces[name] = _action_space(g)

    # ----- spaces -----
    @property
    def num_agents(self) -> int:
        return len(self.agents)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_spaces[agent]

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(market=default_params(self.config.market),
                         reward=default_reward_params(), bankrupt_floor=jnp.asarray(0.5))

    # ----- core -----
    def reset(self, key: jax.Array, params: EnvParams | None = None):
        params = self.default_params if params is None else params
        market = reset(key, self.config.market, params.market)
        n = self.num_agents
        state = EnvState(market=market, wealth=jnp.ones((n,), jnp.float32),
                         carry=jnp.zeros((n, 2), jnp.float32), alive=jnp.ones((n,), bool),
                         episode_return=jnp.zeros((n,), jnp.float32))
        state = state.replace(wealth=self._wealth(market, params))
        return self._obs(state, params, None), state

    def step(self, key: jax.Array, state: EnvState, actions: dict, params: EnvParams | None = None):
        *out, _ = self.step_with_record(key, state, actions, params)
        return tuple(out)

    def step_with_record(self, key: jax.Array, state: EnvState, actions: dict,
                         params: EnvParams | None = None):
        """:meth:`step`, plus the market's :class:`~quantmarl.market.state.StepRecord` of the
        step (prices, volumes, spreads, depth, per-account trades) as a seventh output."""
        params = self.default_params if params is None else params
        k_step, k_reset = jax.random.split(key)
        smart, invalid = self._decode(actions, state)
        market, record = step(k_step, state.market, smart, self.config.market, params.market)
        wealth = self._wealth(market, params)
        reward, carry = self._rewards(state, market, wealth, params)
        reward = jnp.where(state.alive, reward, 0.0)
        terminated = state.alive & (wealth < params.bankrupt_floor)
        truncated = jnp.broadcast_to(market.step >= self.config.market.episode_length,
                                     terminated.shape) & state.alive
        new = EnvState(market=market, wealth=wealth, carry=carry,
                       alive=state.alive & ~terminated & ~truncated,
                       episode_return=state.episode_return + reward)
        obs = self._obs(new, params, record)
        infos = {name: {"invalid_action": invalid[i], "wealth": wealth[i],
                        "episode_return": new.episode_return[i],
                        "position": new.market.ledger.position[i, self._asset(i)]}
                 for i, name in enumerate(self.agents)}
        if self.config.auto_reset:
            obs_r, state_r = self.reset(k_reset, params)
            done = ~jnp.any(new.alive)
            new = jax.tree.map(lambda r, s: jax.lax.select(done, r, s), state_r, new)
            obs = jax.tree.map(lambda r, s: jax.lax.select(done, r, s), obs_r, obs)
        return (obs, new, self._dict(reward), self._dict(terminated), self._dict(truncated),
                infos, record)

    # ----- pieces -----
    def _dict(self, x: jax.Array) -> dict:
        return {name: x[i] for i, name in enumerate(self.agents)}

    def _asset(self, i: int) -> int:
        return self.config.groups[self._group_of[i]].asset

    def _assets(self) -> jax.Array:
        return jnp.asarray([self._asset(i) for i in range(self.num_agents)], jnp.int32)

    def _wealth(self, market: MarketState, params: EnvParams) -> jax.Array:
        """Marked wealth / initial wealth per learner (float32 statistic)."""
        n = self.num_agents
        p = params.market
        mark = market.last_price.astype(jnp.float64) * p.tick_value
        value = market.ledger.cash[:n] + jnp.sum(market.ledger.position[:n] * mark, axis=1)
        initial = p.initial_cash + p.initial_position * jnp.sum(
            p.initial_price.astype(jnp.float64) * p.tick_value)
        return (value / jnp.maximum(initial, 1.0)).astype(jnp.float32)

    def _rewards(self, state, market, wealth, params):
        n = self.num_agents
        held = jnp.take_along_axis(market.ledger.position[:n], self._assets()[:, None], 1)[:, 0]
        inventory = (held / jnp.maximum(params.market.risk.max_position, 1)).astype(jnp.float32)
        ctx = RewardContext(wealth=wealth, prev_wealth=state.wealth, inventory=inventory,
                            carry=state.carry)
        reward, carry = jnp.zeros((n,), jnp.float32), state.carry
        start = 0
        for g in self.config.groups:
            r, c = get_reward(g.reward)(ctx, params.reward)
            rows = (jnp.arange(n) >= start) & (jnp.arange(n) < start + g.count)
            reward = jnp.where(rows, r.astype(jnp.float32), reward)
            carry = jnp.where(rows[:, None], c.astype(jnp.float32), carry)
            start += g.count
        return reward, carry

    def _obs(self, state: EnvState, params: EnvParams, record) -> dict:
        m, n = state.market, self.num_agents
        a = self.config.market.n_assets
        if record is None:
            spread = jnp.full((a,), -1, jnp.int64)
            imbalance = jnp.zeros((a,), jnp.float32)
            depth = jnp.zeros((a, 2), jnp.int64)
        else:
            spread, imbalance, depth = record.spread, record.imbalance, record.depth
        ctx = ObsContext(
            last_price=m.last_price, initial_price=params.market.initial_price,
            fundamental=jnp.exp(m.log_fundamental).astype(jnp.int64), history=m.history,
            volatility=m.volatility, spread=spread, imbalance=imbalance, depth=depth,
            asset=self._assets(), position=m.ledger.position[:n], cash=m.ledger.cash[:n],
            initial_cash=params.market.initial_cash, max_position=params.market.risk.max_position,
            time_left=(1.0 - m.step / self.config.market.episode_length).astype(jnp.float32),
        )
        out, start = {}, 0
        for gi, g in enumerate(self.config.groups):
            vec = observe(ctx, self._specs[gi])
            for i in range(g.count):
                out[self.agents[start + i]] = vec[start + i]
            start += g.count
        return out

    def _decode(self, actions: dict, state: EnvState) -> tuple[SmartActions, jax.Array]:
        """Agent-keyed actions -> SmartActions rows; out-of-space actions become hold."""
        rows, bad = [], []
        for i, name in enumerate(self.agents):
            g = self.config.groups[self._group_of[i]]
            act = jnp.asarray(actions[name]).astype(jnp.int64).reshape(-1)
            row, ok = _DECODERS[g.action](act, g)
            hold = ~ok | ~state.alive[i]
            rows.append(jax.tree.map(lambda x, h=hold: jnp.where(h, jnp.zeros_like(x), x), row))
            bad.append(~ok)
        smart = jax.tree.map(lambda *xs: jnp.stack(xs), *rows)
        return smart, jnp.stack(bad)


def _row(kind, side=0, offset=0, qty=0, offset2=0, qty2=0, asset=0) -> SmartActions:
    i64 = partial(jnp.asarray, dtype=jnp.int64)
    return SmartActions(kind=jnp.asarray(kind, jnp.int32), side=i64(side), offset=i64(offset),
                        qty=i64(qty), offset2=i64(offset2), qty2=i64(qty2),
                        asset=jnp.asarray(asset, jnp.int32))


def _decode_discrete(act, g: AgentGroup):
    a = act[0]
    ok = (act.shape[0] == 1) & (a >= 0) & (a <= 2)
    kind = jnp.where(ok & (a > 0), ActionKind.MARKET, ActionKind.HOLD)
    return _row(kind, side=jnp.where(a == 1, 1, -1), qty=g.trade_size, asset=g.asset), ok


def _decode_limit(act, g: AgentGroup):
    side_i, off, size, cancel = act[0], act[1], act[2], act[3]
    ok = ((side_i >= 0) & (side_i <= 2) & (off >= 0) & (off < g.n_offsets) & (size >= 0)
          & (size < g.n_sizes) & (cancel >= 0) & (cancel <= 1))
    kind = jnp.select([cancel == 1, side_i == 0], [ActionKind.CANCEL_ALL, ActionKind.HOLD],
                      ActionKind.LIMIT)
    return _row(kind, side=jnp.where(side_i == 1, 1, -1), offset=off,
                qty=g.size_unit * (size + 1), asset=g.asset), ok


def _decode_market_maker(act, g: AgentGroup):
    bid, ask, size = act[0], act[1], act[2]
    ok = ((bid >= 0) & (bid < g.n_offsets) & (ask >= 0) & (ask < g.n_offsets) & (size >= 0)
          & (size < g.n_sizes))
    q = g.size_unit * (size + 1)
    return _row(ActionKind.QUOTE, offset=bid + 1, qty=q, offset2=ask + 1, qty2=q,
                asset=g.asset), ok


_DECODERS = {"discrete": _decode_discrete, "limit": _decode_limit,
             "market_maker": _decode_market_maker}


def _action_space(g: AgentGroup) -> spaces.Space:
    if g.action == "discrete":
        return spaces.Discrete(3)
    if g.action == "limit":
        return spaces.MultiDiscrete([3, g.n_offsets, g.n_sizes, 2])
    return spaces.MultiDiscrete([g.n_offsets, g.n_offsets, g.n_sizes])

"""A jittable multi-agent environment over the market step (gymnax / JaxMARL style).

``env = MarketEnv(EnvConfig(...))``;
``obs, state = env.reset(key, params)``;
``obs, state, rewards, terminations, truncations, infos = env.step(key, state, actions, params)``.
Every dict is keyed by agent name; everything is jittable and vmappable.

The configs and state live in :mod:`quantmarl.env.types`, the action encodings in
:mod:`quantmarl.env.actions`, observation features in :mod:`quantmarl.env.observations`
and rewards in :mod:`quantmarl.env.rewards`; this module joins them to the market step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from quantmarl.env.actions import get_action, group_action_space
from quantmarl.env.keys import step_keys
from quantmarl.env.observations import ObsContext, obs_size, observe, resolve_spec
from quantmarl.env.rewards import RewardContext, default_reward_params, get_reward
from quantmarl.env.types import AgentGroup, EnvConfig, EnvParams, EnvState
from quantmarl.events.draws import draw_schedule, no_random_stress
from quantmarl.market import default_params, reset, step
from quantmarl.market.smart import SmartActions
from quantmarl.market.state import MarketState

__all__ = ["AgentGroup", "EnvConfig", "EnvParams", "EnvState", "MarketEnv"]



class MarketEnv:
    """Functional multi-agent market environment.

    Learners come in named groups (:class:`AgentGroup`), e.g. ``market_maker_0``,
    ``momentum_0``; each group has its own action encoding, observation spec and
    reward. The rest of the market is the reactive and background population of
    ``EnvConfig.market``.

    Observation (per agent): float32 ``[obs_size]``, the group's observation spec
    (features of :mod:`quantmarl.env.observations`, normalised, NaN-free).

    Action (per agent): an int array in the group's encoding's space
    (:mod:`quantmarl.env.actions`: ``"discrete"`` ``Discrete(3)``, ``"limit"``
    ``MultiDiscrete([3, n_offsets, n_sizes, 2])``, ``"market_maker"``
    ``MultiDiscrete([n_offsets, n_offsets, n_sizes])``). An action outside its
    space is treated as hold and counted in ``infos[agent]["invalid_action"]``
    (the PettingZoo/Gymnasium shells raise ``ValueError`` instead).

    Reward (per agent): float32 ``[]``, the group's reward
    (:mod:`quantmarl.env.rewards`) on marked wealth / initial wealth; 0 once done.

    State: :class:`EnvState` (the market state, per-learner wealth, reward carry,
    alive flags and episode returns).

    Stress: besides the market's scheduled events (``params.market.schedule``), every
    reset draws the episode's random events from ``params.stress``
    (:mod:`quantmarl.events.draws`; none by default).

    Episode ends: a learner whose marked wealth falls below ``bankrupt_floor`` of
    its initial wealth is terminated; its later actions are ignored. All learners
    are truncated at ``episode_length``. With ``auto_reset`` the state is reset
    when every learner is done (the returned observations are then the new
    episode's, as in gymnax).

    Infos (per agent): ``invalid_action`` (bool), ``wealth`` (float32),
    ``episode_return`` (float32), ``position`` (int64 lots of the group's asset).
    """

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
            self._act_spaces[name] = group_action_space(g)

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
                         reward=default_reward_params(), bankrupt_floor=jnp.asarray(0.5),
                         stress=no_random_stress())

    # ----- core -----
    def reset(self, key: jax.Array, params: EnvParams | None = None):
        """``(obs, state)``: a fresh market from ``key`` (``params`` default:
        :attr:`default_params`), with ``params.stress``'s random events for the episode
        in the market's injected-event table (drawn from ``fold_in(key, 1)``, so the
        market's own draws do not depend on the stress spec)."""
        params = self.default_params if params is None else params
        market = reset(key, self.config.market, params.market)
        m = self.config.market
        events = draw_schedule(jax.random.fold_in(key, 1), params.stress, m.episode_length,
                               m.n_assets, m.max_events)
        market = market.replace(injected=events)
        n = self.num_agents
        state = EnvState(market=market, wealth=jnp.ones((n,), jnp.float32),
                         carry=jnp.zeros((n, 2), jnp.float32), alive=jnp.ones((n,), bool),
                         episode_return=jnp.zeros((n,), jnp.float32))
        state = state.replace(wealth=self._wealth(market, params))
        return self._obs(state, params, None), state

    def step(self, key: jax.Array, state: EnvState, actions: dict, params: EnvParams | None = None):
        """``(obs, state, rewards, terminations, truncations, infos)`` after one market step;
        ``key`` is split by :func:`quantmarl.env.keys.step_keys`."""
        *out, _ = self.step_with_record(key, state, actions, params)
        return tuple(out)

    def step_with_record(self, key: jax.Array, state: EnvState, actions: dict,
                         params: EnvParams | None = None):
        """:meth:`step`, plus the market's :class:`~quantmarl.market.state.StepRecord` of the
        step (prices, volumes, spreads, depth, per-account trades) as a seventh output."""
        params = self.default_params if params is None else params
        k_market, k_reset = step_keys(key)
        smart, invalid = self._decode(actions, state)
        market, record = step(k_market, state.market, smart, self.config.market, params.market)
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
            row, ok = get_action(g.action).decode(act, g)
            hold = ~ok | ~state.alive[i]
            rows.append(jax.tree.map(lambda x, h=hold: jnp.where(h, jnp.zeros_like(x), x), row))
            bad.append(~ok)
        smart = jax.tree.map(lambda *xs: jnp.stack(xs), *rows)
        return smart, jnp.stack(bad)


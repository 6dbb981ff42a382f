"""PettingZoo ``ParallelEnv`` shell over the functional :class:`MarketEnv`.

>>> from quantmarl.env.pettingzoo import parallel_env
>>> env = parallel_env(episode_length=100, clearing="cda")
>>> obs, infos = env.reset(seed=0)
>>> obs, rewards, terminations, truncations, infos = env.step(
...     {agent: env.action_space(agent).sample() for agent in env.agents})

The shell owns the PRNG key and converts to and from numpy; the market logic
lives in the jitted functional env. Outputs: observations are float32 numpy
arrays in the agent's ``Box``, rewards python floats, terminations and
truncations python bools, infos dicts of python scalars. A terminated or
truncated agent is removed from ``agents``; its later actions are ignored.
Invalid actions raise ``ValueError`` (the functional core would count them and
hold instead).

Seeding: ``reset(seed=s)`` reseeds the shell's numpy generator, from which each
episode's JAX key is drawn; ``reset()`` without a seed continues that generator
(the first unseeded reset draws fresh entropy with ``np.random.default_rng()``).

``EnvConfig.auto_reset`` is forced off in the shells: they reset on ``reset()``.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import fields, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from pettingzoo import ParallelEnv

from quantmarl.env.functional import AgentGroup, EnvConfig, EnvParams, MarketEnv
from quantmarl.env.render import RENDER_MODES, History, HumanViewer, ShellRendering
from quantmarl.market import MarketConfig

__all__ = ["MarketParallelEnv", "make_config", "parallel_env", "RENDER_MODES"]

ENV_KWARGS = ("groups",)
MARKET_KWARGS = tuple(f.name for f in fields(MarketConfig) if f.name not in ("n_smart", "extra"))
GROUP_KWARGS = tuple(f.name for f in fields(AgentGroup) if f.name != "count")


def make_config(config: EnvConfig | None = None, *, group_kwargs: bool = False,
                **kwargs: Any) -> EnvConfig:
    """Build an :class:`EnvConfig` from ``config`` (default ``EnvConfig()``) and overrides.

    Accepted overrides: ``groups`` and the :class:`MarketConfig` fields (``clearing``,
    ``episode_length``, ``reactive``, ``background_orders``, ...); with ``group_kwargs``
    also the :class:`AgentGroup` fields except ``count``, applied to every group.
    An unknown keyword raises ``ValueError`` naming it and the accepted ones.
    """
    if config is not None and not isinstance(config, EnvConfig):
        raise ValueError(f"config must be an EnvConfig or None, got {type(config).__name__}")
    accepted = ENV_KWARGS + MARKET_KWARGS + (GROUP_KWARGS if group_kwargs else ())
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown:
        raise ValueError(f"unknown keyword argument(s) {unknown}; accepted: config, params, "
                         f"render_mode, {', '.join(accepted)}")
    config = EnvConfig() if config is None else config
    market = {k: v for k, v in kwargs.items() if k in MARKET_KWARGS}
    group = {k: v for k, v in kwargs.items() if k in GROUP_KWARGS and group_kwargs}
    groups = kwargs.get("groups", config.groups)
    if isinstance(groups, list):
        groups = tuple(groups)
    if group:
        groups = tuple(replace(g, **group) for g in groups)
    return EnvConfig(groups=groups, market=replace(config.market, **market), auto_reset=False)


@functools.lru_cache(maxsize=16)
def _compiled(config: EnvConfig):
    """The functional env and its jitted shell functions for ``config`` (shared by instances
    with an equal config, so each config compiles once per process)."""
    env = MarketEnv(config)

    def reset(key, params):
        key, sub = jax.random.split(key)
        obs, state = env.reset(sub, params)
        n = env.num_agents
        held = jnp.take_along_axis(state.market.ledger.position[:n], env._assets()[:, None], 1)
        return key, state, (obs, state.wealth, held[:, 0], _view(state))

    def step(key, state, actions, params):
        key, sub = jax.random.split(key)
        obs, state, rewards, terms, truncs, infos = env.step(sub, state, actions, params)
        return key, state, (obs, rewards, terms, truncs, infos, _view(state))

    return env, jax.jit(reset), jax.jit(step)


def _view(state):
    """(close, fundamental) of asset 0 in ticks, for the render history."""
    m = state.market
    return m.last_price[0], jnp.exp(m.log_fundamental[0]).astype(jnp.int64)


def _scalar(x) -> bool | int | float:
    return np.asarray(x).item()


class MarketParallelEnv(ShellRendering, ParallelEnv):
    """Multi-agent market as a PettingZoo ``ParallelEnv`` (see the module docstring)."""

    metadata = {"name": "quantmarl_market_v0", "render_modes": RENDER_MODES,
                "is_parallelizable": True, "render_fps": 10}

    def __init__(self, config: EnvConfig | None = None, params: EnvParams | None = None,
                 render_mode: str | None = None, **kwargs: Any):
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, "
                             f"got {render_mode!r}")
        self.config = make_config(config, **kwargs)
        self.env, self._reset_fn, self._step_fn = _compiled(self.config)
        self.params = self.env.default_params if params is None else params
        self.render_mode = render_mode
        self.possible_agents = list(self.env.agents)
        self.agents: list[str] = []
        # own copies: two shells of one config must not share (seedable) space objects
        self.observation_spaces = {a: copy.deepcopy(self.env.observation_space(a))
                                   for a in self.possible_agents}
        self.action_spaces = {a: copy.deepcopy(self.env.action_space(a))
                              for a in self.possible_agents}
        self._hold = {a: np.zeros(self.action_spaces[a].shape, np.int64)
                      for a in self.possible_agents}
        self._np_random: np.random.Generator | None = None
        self._key = None
        self.state_ = None  # functional EnvState of the running episode
        self.history = History()
        self._viewer: HumanViewer | None = None

    # ----- spaces -----
    def observation_space(self, agent: str):
        return self.observation_spaces[agent]

    def action_space(self, agent: str):
        return self.action_spaces[agent]

    # ----- episode -----
    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._np_random = np.random.default_rng(seed)
        elif self._np_random is None:
            self._np_random = np.random.default_rng()
        key = jax.random.key(int(self._np_random.integers(0, 2**63 - 1)))
        self._key, self.state_, out = self._reset_fn(key, self.params)
        obs, wealth, held, view = jax.device_get(out)
        self.agents = list(self.possible_agents)
        self.history.clear()
        self.history.append(*view)
        observations = {a: np.array(obs[a], np.float32) for a in self.agents}
        infos = {a: {"invalid_action": False, "wealth": float(wealth[i]), "episode_return": 0.0,
                     "position": int(held[i])} for i, a in enumerate(self.agents)}
        if self.render_mode == "human":
            self.render()
        return observations, infos

    def step(self, actions: dict):
        if self.state_ is None:
            raise RuntimeError("call reset() before step()")
        unknown = sorted(set(actions) - set(self.possible_agents))
        if unknown:
            raise ValueError(f"actions given for unknown agents {unknown}; agents are "
                             f"{self.possible_agents}")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"missing actions for live agents {missing}")
        live = list(self.agents)
        if not live:
            return {}, {}, {}, {}, {}
        batch = dict(self._hold)
        for agent in live:
            action, space = actions[agent], self.action_spaces[agent]
            arr = np.asarray(action)
            if not space.contains(arr):
                raise ValueError(f"action {action!r} for agent {agent!r} is outside its action "
                                 f"space {space}")
            batch[agent] = arr.astype(np.int64).reshape(space.shape)
        self._key, self.state_, out = self._step_fn(self._key, self.state_, batch, self.params)
        obs, rewards, terms, truncs, infos, view = jax.device_get(out)
        self.history.append(*view)
        observations = {a: np.array(obs[a], np.float32) for a in live}
        rew = {a: float(rewards[a]) for a in live}
        term = {a: bool(terms[a]) for a in live}
        trunc = {a: bool(truncs[a]) for a in live}
        info = {a: {k: _scalar(v) for k, v in infos[a].items()} for a in live}
        self.agents = [a for a in live if not (term[a] or trunc[a])]
        if self.render_mode == "human":
            self.render()
        return observations, rew, term, trunc, info



def parallel_env(**kwargs: Any) -> MarketParallelEnv:
    """A :class:`MarketParallelEnv`; keywords: ``config``, ``params``, ``render_mode`` and
    :func:`make_config` overrides (``episode_length=``, ``clearing=``, ``groups=``, ...)."""
    return MarketParallelEnv(**kwargs)

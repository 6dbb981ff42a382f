"""Single-learner Gymnasium wrapper: one agent (an ``AgentGroup`` with ``count=1``) trading
against the simulated market.

>>> import gymnasium
>>> import quantmarl.env.gymnasium  # registers "quantmarl/Market-v0"
>>> env = gymnasium.make("quantmarl/Market-v0", episode_length=100)
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Keywords: ``config`` (an :class:`EnvConfig` with exactly one group of count 1),
``params``, ``render_mode`` (None, "ansi", "rgb_array", "human"), the market
overrides of :func:`quantmarl.env.pettingzoo.make_config` (``clearing=``,
``episode_length=``, ...) and the learner's :class:`AgentGroup` fields
(``action=``, ``observation=``, ``reward=``, ``trade_size=``, ...). Default: discrete
actions (0 hold, 1 market buy, 2 market sell). ``reset(seed=s)`` seeds
``self.np_random``, from which each episode's JAX key is drawn.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium
import jax
import numpy as np

from quantmarl.env.functional import EnvConfig, EnvParams
from quantmarl.env.pettingzoo import RENDER_MODES, _compiled, make_config
from quantmarl.env.render import History, HumanViewer, ShellRendering

__all__ = ["ENV_ID", "MarketGymEnv", "gymnasium_env"]

ENV_ID = "quantmarl/Market-v0"


class MarketGymEnv(ShellRendering, gymnasium.Env):
    """One learner against the market (see the module docstring)."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 10}

    def __init__(self, config: EnvConfig | None = None, params: EnvParams | None = None,
                 render_mode: str | None = None, **kwargs: Any):
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, "
                             f"got {render_mode!r}")
        self.config = make_config(config, group_kwargs=True, **kwargs)
        groups = self.config.groups
        if len(groups) != 1 or groups[0].count != 1:
            raise ValueError("MarketGymEnv needs exactly one AgentGroup with count=1, got "
                             f"{[(g.name, g.count) for g in groups]}")
        self.env, self._reset_fn, self._step_fn = _compiled(self.config)
        self.params = self.env.default_params if params is None else params
        self.render_mode = render_mode
        self.agent = self.env.agents[0]
        # own copies, so seeding this env's spaces never touches another instance's
        self.observation_space = copy.deepcopy(self.env.observation_space(self.agent))
        self.action_space = copy.deepcopy(self.env.action_space(self.agent))
        self._key = None
        self.state_ = None  # functional EnvState of the running episode
        self.history = History()
        self._viewer: HumanViewer | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        key = jax.random.key(int(self.np_random.integers(0, 2**63 - 1)))
        self._key, self.state_, out = self._reset_fn(key, self.params)
        obs, wealth, held, view = jax.device_get(out)
        self.history.clear()
        self.history.append(*view)
        info = {"invalid_action": False, "wealth": float(wealth[0]), "episode_return": 0.0,
                "position": int(held[0])}
        if self.render_mode == "human":
            self.render()
        return np.array(obs[self.agent], np.float32), info

    def step(self, action):
        if self.state_ is None:
            raise RuntimeError("call reset() before step()")
        arr = np.asarray(action)
        if not self.action_space.contains(arr):
            raise ValueError(f"action {action!r} for agent {self.agent!r} is outside its action "
                             f"space {self.action_space}")
        actions = {self.agent: arr.astype(np.int64).reshape(self.action_space.shape)}
        self._key, self.state_, out = self._step_fn(self._key, self.state_, actions, self.params)
        obs, rewards, terms, truncs, infos, view = jax.device_get(out)
        self.history.append(*view)
        a = self.agent
        info = {k: np.asarray(v).item() for k, v in infos[a].items()}
        if self.render_mode == "human":
            self.render()
        return (np.array(obs[a], np.float32), float(rewards[a]), bool(terms[a]), bool(truncs[a]),
                info)



def gymnasium_env(**kwargs: Any) -> MarketGymEnv:
    """A :class:`MarketGymEnv` (same keywords as its constructor)."""
    return MarketGymEnv(**kwargs)


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="quantmarl.env.gymnasium:MarketGymEnv")

"""Remote environments: a slot in a live simulation on the service, driven from here.

>>> env = RemoteEnv("http://127.0.0.1:8000", sim_id)        # Gymnasium
>>> obs, info = env.reset()
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

:class:`RemoteEnv` binds one smart-tier slot as ``remote`` (the first free one, or
``agent``) and :class:`RemoteParallelEnv` (PettingZoo) several. Their spaces are the
local env's (:class:`~quantmarl.env.MarketEnv`): a float32 ``Box`` observation and a
``Discrete`` or ``MultiDiscrete`` action. ``step`` sends the action and waits until
the market has stepped; the market steps once every remote slot has acted, or
``remote_timeout`` seconds after the first did (a slot that sent nothing holds; the
``timeouts`` info counts those steps). The market is shared: ``reset`` starts a new
episode only when the current one is over. ``close`` removes the slot (its orders
are cancelled; its account stays in the ledger).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from quantmarl.client.api import Client

__all__ = ["RemoteEnv", "RemoteParallelEnv"]


def make_spaces(spec: dict) -> tuple[spaces.Box, spaces.Space]:
    """Gymnasium ``(observation, action)`` spaces from the service's space description."""
    obs = spaces.Box(-np.inf, np.inf, tuple(spec["observation"]["shape"]), np.float32)
    act = spec["action"]
    action = (spaces.Discrete(act["n"]) if act["type"] == "Discrete"
              else spaces.MultiDiscrete(act["nvec"]))
    return obs, action


class _Slots:
    """Remote slots of one simulation: binding, sending actions, waiting for the step."""

    def __init__(self, client: Client, sim_id: str, agents: list[str | None], wait: float):
        self.client, self.sim_id, self.wait = client, sim_id, wait
        self.spaces, self.names = {}, []
        for agent in agents:
            bound = client.add_agent(sim_id, "remote", agent)
            self.names.append(bound["agent"])
            self.spaces[bound["agent"]] = make_spaces(bound["spaces"])
        self.step, self.episode = -1, -1

    def current(self) -> dict[str, dict]:
        """Every slot's observation now; a new episode first if this one is over."""
        out = {a: self.client.observe(self.sim_id, a) for a in self.names}
        first = out[self.names[0]]
        if first["truncated"] or all(o["terminated"] for o in out.values()):
            self.client.reset(self.sim_id)
            out = {a: self.client.observe(self.sim_id, a) for a in self.names}
        self.step, self.episode = out[self.names[0]]["step"], out[self.names[0]]["episode"]
        return out

    def act(self, actions: dict[str, Any]) -> dict[str, dict]:
        """Send each slot's action, then wait (at most ``wait`` s) for the market to step."""
        for agent, action in actions.items():
            a = np.asarray(action).reshape(-1)
            if not self.spaces[agent][1].contains(np.asarray(action, np.int64)):
                raise ValueError(f"action {action!r} is not in {agent}'s action space "
                                 f"{self.spaces[agent][1]}")
            self.client.act(self.sim_id, agent, a.tolist())
        out = {}
        for agent in self.names:
            out[agent] = self._wait(agent)
        self.step, self.episode = out[self.names[0]]["step"], out[self.names[0]]["episode"]
        return out

    def _wait(self, agent: str) -> dict:
        left = self.wait
        while True:
            got = self.client.observe(self.sim_id, agent, after=self.step,
                                      timeout=min(left, 60.0))
            if got["step"] > self.step or got["episode"] != self.episode:
                return got
            left -= 60.0
            if left <= 0:
                raise TimeoutError(f"the market did not step within {self.wait} s")

    def close(self) -> None:
        for agent in self.names:
            self.client.remove_agent(self.sim_id, agent)


def _info(o: dict) -> dict:
    return {k: o[k] for k in ("step", "episode", "wealth", "timeouts")}


class RemoteEnv(gym.Env):
    """One remote slot as a Gymnasium env (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, url: str, sim_id: str, agent: str | None = None, *,
                 token: str | None = None, wait: float = 300.0):
        self._client = Client(url, token)
        self._slots = _Slots(self._client, sim_id, [agent], wait)
        self.agent = self._slots.names[0]
        self.observation_space, self.action_space = self._slots.spaces[self.agent]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        o = self._slots.current()[self.agent]
        return np.asarray(o["observation"], np.float32), _info(o)

    def step(self, action):
        o = self._slots.act({self.agent: action})[self.agent]
        return (np.asarray(o["observation"], np.float32), o["reward"], o["terminated"],
                o["truncated"], _info(o))

    def close(self) -> None:
        self._slots.close()
        self._client.close()


class RemoteParallelEnv(ParallelEnv):
    """Several remote slots of one simulation as a PettingZoo ``ParallelEnv``."""

    metadata = {"name": "quantmarl_remote_v0", "render_modes": []}

    def __init__(self, url: str, sim_id: str, agents: list[str], *, token: str | None = None,
                 wait: float = 300.0):
        self._client = Client(url, token)
        self._slots = _Slots(self._client, sim_id, list(agents), wait)
        self.possible_agents = list(self._slots.names)
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Box:
        return self._slots.spaces[agent][0]

    def action_space(self, agent: str) -> spaces.Space:
        return self._slots.spaces[agent][1]

    def reset(self, seed: int | None = None, options: dict | None = None):
        out = self._slots.current()
        self.agents = list(self.possible_agents)
        return ({a: np.asarray(o["observation"], np.float32) for a, o in out.items()},
                {a: _info(o) for a, o in out.items()})

    def step(self, actions: dict):
        out = self._slots.act({a: actions[a] for a in self.agents})
        live = [a for a in self.agents]
        obs = {a: np.asarray(out[a]["observation"], np.float32) for a in live}
        rewards = {a: out[a]["reward"] for a in live}
        term = {a: out[a]["terminated"] for a in live}
        trunc = {a: out[a]["truncated"] for a in live}
        infos = {a: _info(out[a]) for a in live}
        self.agents = [a for a in live if not (term[a] or trunc[a])]
        return obs, rewards, term, trunc, infos

    def close(self) -> None:
        self._slots.close()
        self._client.close()

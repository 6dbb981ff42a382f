"""One live simulation: its env, params, state and slot controllers, stepped under a lock.

A :class:`Simulation` is a shell: it owns the PRNG key, the current
:class:`~quantmarl.env.EnvState`, which controller drives each smart-tier slot
(:mod:`quantmarl.serve.advance`), a window of recent step records, and writes every
step chunk to the run store. Market logic stays in the pure core: stepping is
:func:`~quantmarl.serve.advance.make_advance`, removing an agent is
:func:`~quantmarl.market.withdraw.withdraw_account`; events and the breaker are
in :mod:`quantmarl.serve.controls`.

The config is a training config mapping (:class:`~quantmarl.rl.TrainConfig`: the
learner types and counts are the simulation's smart-tier slots, ``market`` its
market), validated by the same code as ``python -m quantmarl.train``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from quantmarl.env.functional import MarketEnv
from quantmarl.io import RunStore, StepChunk
from quantmarl.market.withdraw import withdraw_account
from quantmarl.rl.config import TrainConfig
from quantmarl.rl.rollout import group_agents, group_nvec
from quantmarl.rl.train import build_env, build_env_params
from quantmarl.serve.advance import CHUNK, CODE, has_scripted_rule, make_advance

HISTORY = 2000  # step records kept in memory per simulation (the store keeps all)
REMOTE_TIMEOUT = 5.0  # s a step waits for the remote slots' actions
CONTROLLERS = ("hold", "random", "scripted", "remote", "manual", "checkpoint")


class SimulationError(ValueError):
    """A request a simulation cannot carry out (``field``: the request field at fault)."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field, self.status = field, status


@functools.lru_cache(maxsize=16)
def _compiled(env_config) -> tuple[MarketEnv, object, object, object]:
    """Env, jitted reset, advance and withdraw for an env config (shared by simulations)."""
    env = MarketEnv(env_config)
    return env, jax.jit(env.reset), make_advance(env), jax.jit(withdraw_account)


class Simulation:
    """A live market (see the module docstring). Every public method takes the lock."""

    def __init__(self, sim_id: str, config: TrainConfig, seed: int, *,
                 store: RunStore | None = None, raw_config: dict | None = None,
                 remote_timeout: float = REMOTE_TIMEOUT):
        self.id, self.config, self.seed, self.store = sim_id, config, seed, store
        env = build_env(config)
        self.env, self._reset, self._advance, self._withdraw = _compiled(env.config)
        self.params = build_env_params(config, self.env)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified after every step
        self.remote_timeout = remote_timeout  # s a step waits for remote slots' actions
        self.submitted: set[str] = set()  # remote/manual slots that acted for the next step
        self._timer: threading.Timer | None = None
        self.groups = group_agents(self.env)
        self.nvecs = group_nvec(self.env)
        self.group_of = {a: g for g, agents in self.groups.items() for a in agents}
        self.controllers = dict.fromkeys(self.env.agents, "hold")
        self.external = {a: np.zeros(len(self.nvecs[g]), np.int32)
                         for a, g in self.group_of.items()}
        self.timeouts = dict.fromkeys(self.env.agents, 0)  # steps a remote slot missed
        self.policies: dict = {}  # agent -> FrozenPolicy of its checkpoint controller
        self.rewards = np.zeros(self.env.num_agents, np.float32)  # last step's rewards
        self.episode = -1
        self._key = jax.random.key(seed)
        if store is not None:
            store.add_simulation(sim_id, seed, raw_config or config.to_dict(),
                                 self.env.config.market.n_assets, self.env.agents)
        self.reset()

    # ----- lifecycle -----
    def reset(self) -> None:
        """A fresh episode (slot controllers are kept). Episode ``e`` draws from
        ``fold_in(key(seed), e)``: its reset from the first half of a split, step ``t``
        from ``fold_in(second half, t)``, however the steps are cut into calls."""
        with self.lock:
            self.episode += 1
            self.submitted.clear()
            for policy in self.policies.values():
                policy.reset()
            self.rewards = np.zeros(self.env.num_agents, np.float32)
            k_reset, self._step_key = jax.random.split(
                jax.random.fold_in(self._key, self.episode))
            self.obs, self.state = self._reset(k_reset, self.params)
            #: (step, StepRecord of the step, smart cash [n], smart positions [n, A]), numpy
            self.records: deque = deque(maxlen=HISTORY)
            ledger, market = self.state.market.ledger, self.state.market
            mark = np.asarray(market.last_price) * int(self.params.market.tick_value)
            #: int64 [n_accounts] each account's value at the episode's start (minor units)
            self.initial_value = np.asarray(ledger.cash) + np.asarray(ledger.position) @ mark
            self.changed.notify_all()

    def snapshot(self) -> bytes:
        """The env state and observations as ``flax`` msgpack bytes (never pickle)."""
        return serialization.to_bytes({"state": self.state, "obs": self.obs})

    def restore(self, episode: int, step: int, blob: bytes) -> None:
        """Continue from a :meth:`snapshot` taken at ``step`` of ``episode``."""
        with self.lock:
            self.episode = episode - 1
        self.reset()  # the episode's keys and a state of the right structure
        with self.lock:
            target = {"state": self.state, "obs": self.obs}
            restored = serialization.from_bytes(target, blob)
            self.state, self.obs = restored["state"], restored["obs"]
            if self.step_count != step:
                raise ValueError(f"snapshot of {self.id!r} says step {step}, holds "
                                 f"{self.step_count}")

    @property
    def market_config(self):
        return self.env.config.market

    @property
    def step_count(self) -> int:
        return int(self.state.market.step)

    @property
    def steps_left(self) -> int:
        return self.market_config.episode_length - self.step_count

    def step(self, n: int) -> dict:
        """Advance ``n`` steps (jitted chunks); returns the last step's summary. With remote
        slots bound, each step waits for their actions, at most ``remote_timeout`` s."""
        with self.lock:
            if not 1 <= n <= self.steps_left:
                raise SimulationError("steps", f"steps must be in [1, {self.steps_left}] (the "
                                      "steps left in this episode; reset to start another), "
                                      f"got {n}")
            if not self._remote():
                self._run(n)
                return self._summary()
            episode, target = self.episode, self.step_count + n
            while self.episode == episode and self.step_count < target:
                self._await_remote()
            return self._summary()

    def _remote(self) -> list[str]:
        return [a for a, c in self.controllers.items() if c == "remote"]

    def _await_remote(self) -> None:
        """One step once every remote slot has acted, or when ``remote_timeout`` is up."""
        now = (self.episode, self.step_count)
        deadline = time.monotonic() + self.remote_timeout
        while (self.episode, self.step_count) == now and not self._all_in():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.changed.wait(left)
        if (self.episode, self.step_count) == now:
            self._run(1)

    def _all_in(self) -> bool:
        return all(a in self.submitted for a in self._remote())

    def _run(self, n: int) -> None:
        """``n`` steps (lock held). Remote and manual slots act on the action they submitted
        for the first step, then hold; a remote slot that sent none holds (a timeout)."""
        for agent in self._remote():
            if agent not in self.submitted:
                self.timeouts[agent] += 1
        modes = {g: jnp.asarray([CODE[self._mode(a)] for a in agents], jnp.int32)
                 for g, agents in self.groups.items()}
        external = {g: jnp.asarray(np.stack([self.external[a] for a in agents]))
                    for g, agents in self.groups.items()}
        first = 1 if self.submitted and n > 1 else n
        self._advance_by(first, modes, external)
        self.submitted.clear()
        if first < n:
            modes = {g: jnp.asarray([CODE[self._mode(a)] for a in agents], jnp.int32)
                     for g, agents in self.groups.items()}
            self._advance_by(n - first, modes, external)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.changed.notify_all()

    def _advance_by(self, n: int, modes: dict, external: dict) -> None:
        """``n`` steps in chunks; with checkpoint slots one step per call, their actions
        computed from each step's observations."""
        done = 0
        while done < n:
            m = 1 if self.policies else min(CHUNK, n - done)
            if self.policies:
                external = self._policy_actions()
            (self.state, self.obs), out = self._advance(
                self._step_key, self.state, self.obs, modes, external, self.params, m)
            self._keep(jax.tree.map(lambda x, m=m: x[:m], out), m)
            done += m

    def _policy_actions(self) -> dict:
        """External actions by group, the checkpoint slots' from their greedy policies."""
        for agent, policy in self.policies.items():
            self.external[agent] = np.asarray(policy(self.obs[agent][None])[0], np.int32)
        return {g: jnp.asarray(np.stack([self.external[a] for a in agents]))
                for g, agents in self.groups.items()}

    def _mode(self, agent: str) -> str:
        c = self.controllers[agent]
        if c in ("remote", "manual"):
            return "external" if agent in self.submitted else "hold"
        return "external" if c == "checkpoint" else c

    def _keep(self, outputs, n: int) -> None:
        rec, cash, position, reward = jax.tree.map(np.asarray, outputs)
        self.rewards = reward[-1]
        last = self.step_count
        steps = np.arange(last - n + 1, last + 1)
        for i in range(n):
            self.records.append((int(steps[i]), jax.tree.map(lambda x, i=i: x[i], rec),
                                 cash[i], position[i]))
        if self.store is not None:
            self.store.write_chunk(self.id, self.episode, StepChunk.from_record(
                rec, steps, self.env.agents, cash, position))
            self.store.save_snapshot(self.id, self.episode, last, self.snapshot())

    # ----- remote and manual slots -----
    def submit(self, agent: str, action: list[int]) -> int:
        """A remote or manual slot's action for the coming step; returns that step's index.
        The market steps as soon as every remote slot has acted, or ``remote_timeout`` s
        after the first of them did (the others hold)."""
        with self.lock:
            self.check_agent(agent)
            if self.controllers[agent] not in ("remote", "manual"):
                raise SimulationError("agent", f"slot {agent!r} is driven by "
                                      f"{self.controllers[agent]!r}; bind it as remote or manual "
                                      "to send actions", status=409)
            self.external[agent] = self._checked_action(agent, action)
            self.submitted.add(agent)
            coming = self.step_count + 1
            remote = self._remote()
            if remote and self._all_in() and self.steps_left > 0:
                self._run(1)
            elif remote and self._timer is None and self.steps_left > 0:
                self._timer = threading.Timer(self.remote_timeout, self._expire,
                                              (self.episode, self.step_count))
                self._timer.daemon = True
                self._timer.start()
            return coming

    def _expire(self, episode: int, step: int) -> None:
        with self.lock:
            self._timer = None
            if (self.episode, self.step_count) == (episode, step) and self.steps_left > 0:
                self._run(1)

    def observe(self, agent: str, after: int | None = None, timeout: float = 0.0) -> dict:
        """``agent``'s observation, last reward and status; with ``after``, first waits (at
        most ``timeout`` s) until the market is past step ``after`` or a new episode began."""
        with self.lock:
            self.check_agent(agent)
            episode, deadline = self.episode, time.monotonic() + timeout
            while after is not None and self.episode == episode and self.step_count <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            i = self.env.agents.index(agent)
            truncated = self.steps_left <= 0
            return {"agent": agent, "episode": self.episode, "step": self.step_count,
                    "observation": np.asarray(self.obs[agent], np.float64).tolist(),
                    "reward": float(self.rewards[i]),
                    "terminated": bool(~self.state.alive[i]) and not truncated,
                    "truncated": truncated, "wealth": float(self.state.wealth[i]),
                    "timeouts": self.timeouts[agent]}

    def _summary(self) -> dict:
        m = self.state.market
        return {"step": self.step_count, "episode": self.episode,
                "last_price": np.asarray(m.last_price).tolist(),
                "steps_left": self.steps_left}

    # ----- agents -----
    def bind(self, agent: str, controller: str, policy=None) -> None:
        """Drive slot ``agent`` by ``controller``: ``hold``, ``random``, ``scripted``,
        ``remote`` or ``manual`` (these two act by :meth:`submit`), or ``checkpoint``
        with ``policy``, a :class:`~quantmarl.rl.policy.FrozenPolicy` for the slot."""
        with self.lock:
            self.check_agent(agent)
            if controller not in CONTROLLERS:
                raise SimulationError("controller", f"controller must be one of "
                                      f"{', '.join(CONTROLLERS)}; got {controller!r}")
            group = next(g for g in self.env.config.groups if g.name == self.group_of[agent])
            if controller == "scripted" and not has_scripted_rule(group):
                raise SimulationError("controller", f"slot {agent!r} has no scripted rule for "
                                      f"its observation; choose another controller")
            if (controller == "checkpoint") != (policy is not None):
                raise SimulationError("checkpoint", "a checkpoint controller needs a "
                                      "checkpoint, and only it takes one")
            self.controllers[agent] = controller
            self.policies.pop(agent, None)
            if policy is not None:
                policy.reset()
                self.policies[agent] = policy
            self.external[agent] = np.zeros_like(self.external[agent])
            self.submitted.discard(agent)
            self.changed.notify_all()

    def remove(self, agent: str) -> dict:
        """Stop ``agent`` trading: its orders are cancelled, its account stays in the ledger."""
        with self.lock:
            self.check_agent(agent)
            index = self.env.agents.index(agent)
            market, removed = self._withdraw(self.state.market, index)
            self.state = self.state.replace(market=market)
            self.controllers[agent] = "hold"
            self.policies.pop(agent, None)
            self.submitted.discard(agent)
            self.changed.notify_all()
            return {"agent": agent, "cancelled_lots": np.asarray(removed).tolist()}

    def _checked_action(self, agent: str, action: list[int]) -> np.ndarray:
        nvec = self.nvecs[self.group_of[agent]]
        a = np.asarray(action, np.int64).reshape(-1)
        if a.shape != (len(nvec),) or np.any(a < 0) or np.any(a >= np.asarray(nvec)):
            raise SimulationError("action", f"action for {agent!r} must be {len(nvec)} "
                                  f"int(s) with component i in [0, nvec[i]), nvec="
                                  f"{list(nvec)}; got {action!r}")
        return a.astype(np.int32)

    def check_agent(self, agent: str) -> None:
        if agent not in self.controllers:
            raise SimulationError("agent", f"no smart-tier slot {agent!r}; slots: "
                                  f"{list(self.controllers)}", status=404)

"""One live simulation: its env, params, state and slot controllers, stepped under a lock.

A :class:`Simulation` is a shell: it owns the PRNG key, the current
:class:`~quantmarl.env.EnvState`, which controller drives each smart-tier slot
(:mod:`quantmarl.serve.advance`), a window of recent step records, and writes every
step chunk to the run store. Market logic stays in the pure core: stepping is
:func:`~quantmarl.serve.advance.make_advance`, removing an agent is
:func:`~quantmarl.market.withdraw.withdraw_account`, events go through
:func:`~quantmarl.events.inject`.

The config is a training config mapping (:class:`~quantmarl.rl.TrainConfig`: the
learner types and counts are the simulation's smart-tier slots, ``market`` its
market), validated by the same code as ``python -m quantmarl.train``.
"""

from __future__ import annotations

import functools
import threading
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from quantmarl.env.functional import MarketEnv
from quantmarl.events import (
    EVENT_KINDS,
    EventKind,
    active_events,
    breaker_rules,
    inject,
    validate_event,
)
from quantmarl.events.schedule import Event
from quantmarl.io import RunStore, StepChunk
from quantmarl.market.withdraw import withdraw_account
from quantmarl.rl.config import TrainConfig
from quantmarl.rl.rollout import group_agents, group_nvec
from quantmarl.rl.train import build_env, build_env_params
from quantmarl.serve.advance import CHUNK, CODE, has_scripted_rule, make_advance

HISTORY = 2000  # step records kept in memory per simulation (the store keeps all)


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
                 store: RunStore | None = None, raw_config: dict | None = None):
        self.id, self.config, self.seed, self.store = sim_id, config, seed, store
        env = build_env(config)
        self.env, self._reset, self._advance, self._withdraw = _compiled(env.config)
        self.params = build_env_params(config, self.env)
        self.lock = threading.Lock()
        self.groups = group_agents(self.env)
        self.nvecs = group_nvec(self.env)
        self.group_of = {a: g for g, agents in self.groups.items() for a in agents}
        self.controllers = dict.fromkeys(self.env.agents, "hold")
        self.external = {a: np.zeros(len(self.nvecs[g]), np.int32)
                         for a, g in self.group_of.items()}
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
            k_reset, self._step_key = jax.random.split(
                jax.random.fold_in(self._key, self.episode))
            self.obs, self.state = self._reset(k_reset, self.params)
            #: (step, StepRecord of the step, smart cash [n], smart positions [n, A]), numpy
            self.records: deque = deque(maxlen=HISTORY)
            ledger, market = self.state.market.ledger, self.state.market
            mark = np.asarray(market.last_price) * int(self.params.market.tick_value)
            #: int64 [n_accounts] each account's value at the episode's start (minor units)
            self.initial_value = np.asarray(ledger.cash) + np.asarray(ledger.position) @ mark

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
        """Advance ``n`` steps in one jitted call; returns the last step's summary."""
        with self.lock:
            if not 1 <= n <= self.steps_left:
                raise SimulationError("steps", f"steps must be in [1, {self.steps_left}] (the "
                                      "steps left in this episode; reset to start another), "
                                      f"got {n}")
            modes = {g: jnp.asarray([CODE[self._mode(a)] for a in agents], jnp.int32)
                     for g, agents in self.groups.items()}
            external = {g: jnp.asarray(np.stack([self.external[a] for a in agents]))
                        for g, agents in self.groups.items()}
            key, done = self._step_key, 0
            while done < n:
                m = min(CHUNK, n - done)
                (self.state, self.obs), (record, cash, position) = self._advance(
                    key, self.state, self.obs, modes, external, self.params, m)
                self._keep(jax.tree.map(lambda x, m=m: x[:m], (record, cash, position)), m)
                done += m
            return self._summary()

    def _mode(self, agent: str) -> str:
        c = self.controllers[agent]
        return "external" if c in ("remote", "manual") else c

    def _keep(self, outputs, n: int) -> None:
        rec, cash, position = jax.tree.map(np.asarray, outputs)
        last = self.step_count
        steps = np.arange(last - n + 1, last + 1)
        for i in range(n):
            self.records.append((int(steps[i]), jax.tree.map(lambda x, i=i: x[i], rec),
                                 cash[i], position[i]))
        if self.store is not None:
            self.store.write_chunk(self.id, self.episode, StepChunk.from_record(
                rec, steps, self.env.agents, cash, position))
            self.store.save_snapshot(self.id, self.episode, last, self.snapshot())

    def _summary(self) -> dict:
        m = self.state.market
        return {"step": self.step_count, "episode": self.episode,
                "last_price": np.asarray(m.last_price).tolist(),
                "steps_left": self.steps_left}

    # ----- agents -----
    def bind(self, agent: str, controller: str) -> None:
        """Drive slot ``agent`` by ``controller`` (``hold``, ``random``, ``scripted``,
        ``remote`` or ``manual``: the last two act by :meth:`set_action`)."""
        with self.lock:
            self._check_agent(agent)
            if controller not in ("hold", "random", "scripted", "remote", "manual"):
                raise SimulationError("controller", "controller must be one of hold, random, "
                                      f"scripted, remote, manual; got {controller!r}")
            group = next(g for g in self.env.config.groups if g.name == self.group_of[agent])
            if controller == "scripted" and not has_scripted_rule(group):
                raise SimulationError("controller", f"slot {agent!r} has no scripted rule for "
                                      f"its observation; choose another controller")
            self.controllers[agent] = controller
            self.external[agent] = np.zeros_like(self.external[agent])

    def remove(self, agent: str) -> dict:
        """Stop ``agent`` trading: its orders are cancelled, its account stays in the ledger."""
        with self.lock:
            self._check_agent(agent)
            index = self.env.agents.index(agent)
            market, removed = self._withdraw(self.state.market, index)
            self.state = self.state.replace(market=market)
            self.controllers[agent] = "hold"
            return {"agent": agent, "cancelled_lots": np.asarray(removed).tolist()}

    def set_action(self, agent: str, action: list[int]) -> None:
        """The action a ``remote`` or ``manual`` slot takes from the next step on."""
        with self.lock:
            self._check_agent(agent)
            nvec = self.nvecs[self.group_of[agent]]
            a = np.asarray(action, np.int64).reshape(-1)
            if a.shape != (len(nvec),) or np.any(a < 0) or np.any(a >= np.asarray(nvec)):
                raise SimulationError("action", f"action for {agent!r} must be {len(nvec)} "
                                      f"int(s) with component i in [0, nvec[i]), nvec="
                                      f"{list(nvec)}; got {action!r}")
            self.external[agent] = a.astype(np.int32)

    def _check_agent(self, agent: str) -> None:
        if agent not in self.controllers:
            raise SimulationError("agent", f"no smart-tier slot {agent!r}; slots: "
                                  f"{list(self.controllers)}", status=404)

    # ----- events -----
    def inject(self, kind: str, magnitude: float, duration: int, start: int | None,
               asset: int) -> dict:
        """Schedule an event ``start`` (default: the next step) in the live market."""
        names = {s.constructor: k for k, s in EVENT_KINDS.items()}
        with self.lock:
            if kind not in names:
                raise SimulationError("kind", f"kind must be one of {sorted(names)}, got {kind!r}")
            at = self.step_count if start is None else start
            code = names[kind]
            duration = 1 if code == EventKind.NEWS else duration
            event = Event(kind=jnp.asarray(int(code), jnp.int32), start=jnp.asarray(at, jnp.int32),
                          duration=jnp.asarray(duration, jnp.int32),
                          magnitude=jnp.asarray(magnitude, jnp.float32),
                          asset=jnp.asarray(asset, jnp.int32))
            try:
                validate_event(event, self.market_config.n_assets)
            except ValueError as err:
                raise SimulationError(_event_field(str(err)), str(err)) from None
            schedule, dropped = inject(self.state.market.injected, event)
            if bool(dropped):
                raise SimulationError("kind", "the event table is full (market.max_events "
                                      f"= {self.market_config.max_events})", status=409)
            self.state = self.state.replace(market=self.state.market.replace(injected=schedule))
            if self.store is not None:
                self.store.add_event(self.id, self.episode, self.step_count, kind, magnitude,
                                     at, duration, asset)
            return {"kind": kind, "start": at, "duration": duration, "asset": asset,
                    "magnitude": magnitude}

    def set_breaker(self, **rules) -> dict:
        """New circuit-breaker rules from the next step (``breaker_rules`` keywords)."""
        with self.lock:
            history = self.state.market.breaker.history_len
            try:
                built = breaker_rules(**rules, history_len=history)
            except ValueError as err:
                field = next((f for f in rules if str(err).startswith(f)), "enabled")
                raise SimulationError(field, str(err)) from None
            market = self.params.market.replace(breaker=built)
            self.params = self.params.replace(market=market)
            return dict(rules)

    def active_events(self) -> list[dict]:
        sched = jax.tree.map(np.asarray, self.state.market.injected)
        live = np.asarray(active_events(self.state.market.injected, self.step_count))
        by_code = {int(k): s.constructor for k, s in EVENT_KINDS.items()}
        return [{"kind": by_code[int(sched.kind[i])], "start": int(sched.start[i]),
                 "duration": int(sched.duration[i]), "magnitude": float(sched.magnitude[i]),
                 "asset": int(sched.asset[i])} for i in np.flatnonzero(live)]


def _event_field(message: str) -> str:
    """The request field an event validation message (``"flash_crash: magnitude ..."``)
    is about."""
    words = message.partition(": ")[2].split(" ", 1)
    first = words[0] if words else ""
    if first in {s.magnitude_name for s in EVENT_KINDS.values()}:
        return "magnitude"
    return first if first in ("duration", "start", "asset") else "kind"

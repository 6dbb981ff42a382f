"""The service's live simulations: create from a config mapping, look up, delete, and
restore after a restart from the run store's last snapshots."""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from pathlib import Path

from quantmarl.io import RunStore
from quantmarl.rl.config import PRESETS, TrainConfig
from quantmarl.serve.simulation import REMOTE_TIMEOUT, Simulation, SimulationError

MAX_AGENTS = 100_000  # reactive agents per simulation the service accepts by default
MAX_SIMULATIONS = 64  # live simulations at once


def config_field(message: str) -> str:
    """The request field a config validation message names (``config.market.n_assets``)."""
    found = re.search(r"TrainConfig\.([A-Za-z_][\w.]*)", message)
    if found:
        return "config." + found.group(1).rstrip(".")
    found = re.search(r"unknown TrainConfig key\(s\) \['([\w.]+)'", message)
    return "config." + found.group(1) if found else "config"


class Sessions:
    """Live simulations by id (thread-safe), written to ``store`` when one is given."""

    def __init__(self, store: RunStore | None = None, max_agents: int = MAX_AGENTS,
                 max_simulations: int = MAX_SIMULATIONS, models: Path | None = None):
        self.store, self.max_agents, self.max_simulations = store, max_agents, max_simulations
        self.models = models  # the directory checkpoint controllers are loaded from
        self._live: dict[str, Simulation] = {}
        self._lock = threading.Lock()

    def build_config(self, config: dict, preset: str) -> TrainConfig:
        """The validated :class:`TrainConfig` of a request (``SimulationError`` naming the
        field otherwise)."""
        try:
            built = TrainConfig.from_dict({**PRESETS[preset], **config})
        except (ValueError, TypeError) as err:
            raise SimulationError(config_field(str(err)), str(err)) from None
        if built.market.clearing == "cda":  # the store keeps every fill
            built = dataclasses.replace(built, market=dataclasses.replace(
                built.market, record_fills=True))
        n = built.market.n_reactive
        if n > self.max_agents:
            raise SimulationError("config.market.reactive", f"config.market.reactive: at most "
                                  f"{self.max_agents} reactive agents, got {n}")
        return built

    def create(self, config: dict, preset: str = "smoke", seed: int = 0,
               remote_timeout: float = REMOTE_TIMEOUT) -> Simulation:
        built = self.build_config(config, preset)
        with self._lock:
            if len(self._live) >= self.max_simulations:
                raise SimulationError("config", f"at most {self.max_simulations} live "
                                      "simulations; delete one first", status=409)
            sim_id = uuid.uuid4().hex[:12]
            raw = {"preset": preset, "config": config}
            sim = Simulation(sim_id, built, seed, store=self.store, raw_config=raw,
                             remote_timeout=remote_timeout)
            self._live[sim_id] = sim
        return sim

    def get(self, sim_id: str) -> Simulation:
        with self._lock:
            if sim_id not in self._live:
                raise SimulationError("sim_id", f"no simulation {sim_id!r}", status=404)
            return self._live[sim_id]

    def all(self) -> list[Simulation]:
        with self._lock:
            return list(self._live.values())

    def delete(self, sim_id: str, purge: bool = False) -> None:
        """Stop a simulation; ``purge`` also deletes its records from the store."""
        with self._lock:
            if self._live.pop(sim_id, None) is None:
                raise SimulationError("sim_id", f"no simulation {sim_id!r}", status=404)
        if purge and self.store is not None:
            self.store.delete_simulation(sim_id)

    def restore(self) -> list[str]:
        """Bring back every stored simulation from its last snapshot; returns their ids."""
        if self.store is None:
            return []
        restored = []
        for row in self.store.simulations():
            snapshot = self.store.load_snapshot(row["id"])
            if snapshot is None:
                continue
            raw = row["config"]
            built = self.build_config(raw.get("config", {}), raw.get("preset", "smoke"))
            sim = Simulation(row["id"], built, row["seed"], store=None)
            sim.restore(*snapshot)
            sim.store = self.store
            with self._lock:
                self._live[sim.id] = sim
            restored.append(sim.id)
        return restored


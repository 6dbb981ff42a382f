"""The run store: simulations, their step records, accounts, events, snapshots and jobs
in one SQLite file (stdlib ``sqlite3``, WAL mode; schema in :mod:`quantmarl.io.schema`).

``store = RunStore("runs.sqlite")`` opens (creating or migrating) the file. Writes
go in whole chunks: :meth:`RunStore.write_chunk` stores a run of steps (a
:class:`StepChunk`) in one transaction, so a writer killed at any moment leaves
the file consistent, missing at most the chunk in flight. Reads return numpy
arrays (int64 for prices, lots and cash) shaped ``[T, A]`` / ``[T, n]`` /
``[T, n, A]``, ready for :mod:`quantmarl.quant` or a pandas ``DataFrame``.
One store may be shared by threads (one connection under a lock).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quantmarl.io.schema import STEP_COLUMNS, migrate

__all__ = ["RunStore", "StepChunk"]

_RECORD_FIELDS = ("open", "high", "low", "close", "volume", "signed_volume", "n_trades",
                  "best_bid", "best_ask", "spread", "halted", "fundamental")


@dataclass(frozen=True)
class StepChunk:
    """Consecutive steps of one episode, as int64 numpy arrays.

    ``step`` [T] market step after each step; ``market`` maps each
    :data:`~quantmarl.io.schema.STEP_COLUMNS` name to [T, A]; ``agents`` the
    smart-tier names (n); ``cash`` [T, n] minor units; ``position`` [T, n, A] lots;
    ``fills`` [T, A, F, 9] the steps' fills (``StepRecord.fills`` columns; rows with
    qty 0 are padding) or None.
    """

    step: np.ndarray
    market: dict[str, np.ndarray]
    agents: tuple[str, ...]
    cash: np.ndarray
    position: np.ndarray
    fills: np.ndarray | None = None

    @classmethod
    def from_record(cls, record: Any, step: Any, agents: Sequence[str], cash: Any,
                    position: Any) -> StepChunk:
        """From a time-stacked :class:`~quantmarl.market.state.StepRecord` (fields [T, A];
        ``depth`` [T, A, 2]; ``fees`` [T], stored on asset 0's rows)."""
        market = {f: np.asarray(getattr(record, f)).astype(np.int64) for f in _RECORD_FIELDS}
        depth = np.asarray(record.depth).astype(np.int64)
        market["bid_depth"], market["ask_depth"] = depth[..., 0], depth[..., 1]
        fees = np.zeros_like(market["close"])
        fees[:, 0] = np.asarray(record.fees).astype(np.int64)
        market["fees"] = fees
        fills = getattr(record, "fills", None)
        return cls(step=np.asarray(step, np.int64).reshape(-1), market=market,
                   agents=tuple(agents), cash=np.asarray(cash, np.int64),
                   position=np.asarray(position, np.int64),
                   fills=None if fills is None else np.asarray(fills, np.int64))


FILL_COLUMNS = ("step", "asset", "seq", "taker", "maker", "side", "price", "qty",
                "taker_fee", "maker_fee")
# StepRecord.fills columns stored, in FILL_COLUMNS order after step, asset and seq
_FILL_FROM_RECORD = (4, 5, 6, 2, 3, 7, 8)  # taker, maker, side, price, qty, fees


def _fill_rows(sim_id: str, episode: int, chunk: StepChunk) -> list[tuple]:
    if chunk.fills is None:
        return []
    out = []
    for i, a, f in zip(*np.nonzero(chunk.fills[..., 3] > 0), strict=True):
        row = chunk.fills[i, a, f]
        out.append((sim_id, episode, int(chunk.step[i]), int(a), int(f),
                    *(int(row[c]) for c in _FILL_FROM_RECORD)))
    return out


class RunStore:
    """A SQLite run store (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self.version = migrate(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ----- simulations -----
    def add_simulation(self, sim_id: str, seed: int, config: dict, n_assets: int,
                       agents: Sequence[str]) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO simulations VALUES (?, ?, ?, ?, ?, ?)",
                       (sim_id, time.time(), int(seed), json.dumps(config), int(n_assets),
                        json.dumps(list(agents))))

    def delete_simulation(self, sim_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM simulations WHERE id = ?", (sim_id,))

    def simulations(self) -> list[dict]:
        """Every stored simulation, oldest first (config and agents decoded)."""
        rows = self._query("SELECT id, created, seed, config, n_assets, agents FROM simulations "
                           "ORDER BY created")
        return [{"id": r[0], "created": r[1], "seed": r[2], "config": json.loads(r[3]),
                 "n_assets": r[4], "agents": json.loads(r[5])} for r in rows]

    # ----- steps -----
    def write_chunk(self, sim_id: str, episode: int, chunk: StepChunk) -> None:
        """Store ``chunk`` in one transaction (all of it or none of it)."""
        t, a = chunk.market["close"].shape
        steps = [(sim_id, episode, int(chunk.step[i]), j,
                  *(int(chunk.market[c][i, j]) for c in STEP_COLUMNS))
                 for i in range(t) for j in range(a)]
        cash = [(sim_id, episode, int(chunk.step[i]), name, int(chunk.cash[i, k]))
                for i in range(t) for k, name in enumerate(chunk.agents)]
        lots = [(sim_id, episode, int(chunk.step[i]), name, j, int(chunk.position[i, k, j]))
                for i in range(t) for k, name in enumerate(chunk.agents) for j in range(a)]
        marks = ", ".join("?" * (4 + len(STEP_COLUMNS)))
        with self._transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO steps VALUES ({marks})", steps)
            db.executemany("INSERT OR REPLACE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?)", _fill_rows(sim_id, episode, chunk))
            db.executemany("INSERT OR REPLACE INTO agent_steps VALUES (?, ?, ?, ?, ?)", cash)
            db.executemany("INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?)", lots)

    def read_fills(self, sim_id: str, episode: int = 0) -> dict[str, np.ndarray]:
        """Every stored fill of one episode in execution order: int64 [F] arrays
        ``step, asset, seq, taker, maker, side, price, qty, taker_fee, maker_fee``."""
        rows = self._query(f"SELECT {', '.join(FILL_COLUMNS)} FROM fills WHERE sim_id = ? "
                           "AND episode = ? ORDER BY step, asset, seq", (sim_id, episode))
        data = np.asarray(rows, np.int64).reshape(-1, len(FILL_COLUMNS))
        return {c: data[:, i] for i, c in enumerate(FILL_COLUMNS)}

    def episodes(self, sim_id: str) -> list[int]:
        return [r[0] for r in self._query(
            "SELECT DISTINCT episode FROM steps WHERE sim_id = ? ORDER BY episode", (sim_id,))]

    def read_steps(self, sim_id: str, episode: int = 0) -> dict[str, np.ndarray]:
        """``{"step": [T], column: [T, A], ...}`` (int64) of one episode, in step order."""
        cols = ", ".join(STEP_COLUMNS)
        rows = self._query(f"SELECT step, asset, {cols} FROM steps WHERE sim_id = ? AND "
                           "episode = ? ORDER BY step, asset", (sim_id, episode))
        data = np.asarray(rows, np.int64).reshape(-1, 2 + len(STEP_COLUMNS))
        n_assets = int(data[:, 1].max()) + 1 if len(data) else 1
        data = data.reshape(-1, n_assets, data.shape[-1])
        out = {"step": data[:, 0, 0]}
        out.update({c: data[:, :, 2 + i] for i, c in enumerate(STEP_COLUMNS)})
        return out

    def read_accounts(self, sim_id: str, episode: int = 0) -> dict[str, Any]:
        """``{"step": [T], "agents": names, "cash": [T, n], "position": [T, n, A]}`` (int64)."""
        agents = json.loads(self._query("SELECT agents FROM simulations WHERE id = ?",
                                        (sim_id,))[0][0])
        index = {name: k for k, name in enumerate(agents)}
        cash_rows = self._query("SELECT step, agent, cash FROM agent_steps WHERE sim_id = ? AND "
                                "episode = ? ORDER BY step", (sim_id, episode))
        steps = sorted({r[0] for r in cash_rows})
        row_of = {s: i for i, s in enumerate(steps)}
        cash = np.zeros((len(steps), len(agents)), np.int64)
        for s, name, c in cash_rows:
            cash[row_of[s], index[name]] = c
        lot_rows = self._query("SELECT step, agent, asset, lots FROM positions WHERE sim_id = ? "
                               "AND episode = ?", (sim_id, episode))
        n_assets = max((r[2] for r in lot_rows), default=0) + 1
        position = np.zeros((len(steps), len(agents), n_assets), np.int64)
        for s, name, j, q in lot_rows:
            position[row_of[s], index[name], j] = q
        return {"step": np.asarray(steps, np.int64), "agents": agents, "cash": cash,
                "position": position}

    # ----- events, snapshots -----
    def add_event(self, sim_id: str, episode: int, injected_at: int, kind: str,
                  magnitude: float, start: int, duration: int, asset: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO events (sim_id, episode, injected_at, kind, magnitude, start, "
                       "duration, asset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (sim_id, episode, injected_at, kind, float(magnitude), int(start),
                        int(duration), int(asset)))

    def events(self, sim_id: str) -> list[dict]:
        rows = self._query("SELECT episode, injected_at, kind, magnitude, start, duration, asset "
                           "FROM events WHERE sim_id = ? ORDER BY id", (sim_id,))
        names = ("episode", "injected_at", "kind", "magnitude", "start", "duration", "asset")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def save_snapshot(self, sim_id: str, episode: int, step: int, state: bytes) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
                       (sim_id, episode, step, sqlite3.Binary(state)))

    def load_snapshot(self, sim_id: str) -> tuple[int, int, bytes] | None:
        """``(episode, step, msgpack bytes)`` of the last snapshot, or ``None``."""
        rows = self._query("SELECT episode, step, state FROM snapshots WHERE sim_id = ?",
                           (sim_id,))
        return (rows[0][0], rows[0][1], bytes(rows[0][2])) if rows else None

    # ----- jobs -----
    def add_job(self, job_id: str, kind: str, config: dict, directory: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO jobs (id, kind, status, created, config, directory) "
                       "VALUES (?, ?, 'queued', ?, ?, ?)",
                       (job_id, kind, time.time(), json.dumps(config), directory))

    def set_job_status(self, job_id: str, status: str, error: str | None = None,
                       report: dict | None = None) -> None:
        finished = time.time() if status in ("done", "failed", "cancelled") else None
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status = ?, finished = ?, error = ?, report = ? "
                       "WHERE id = ?", (status, finished, error,
                                        None if report is None else json.dumps(report), job_id))

    def jobs(self) -> list[dict]:
        """Every job, oldest first (config and report decoded; report None until done)."""
        rows = self._query("SELECT id, kind, status, created, finished, config, directory, "
                           "error, report FROM jobs ORDER BY created")
        names = ("id", "kind", "status", "created", "finished", "config", "directory", "error",
                 "report")
        return [{**dict(zip(names, r, strict=True)), "config": json.loads(r[5]),
                 "report": None if r[8] is None else json.loads(r[8])} for r in rows]

"""The run store's SQLite schema: one table per record, versioned migrations.

Units: prices in ticks, quantities in lots, cash and fees in minor units, all
SQLite ``INTEGER`` (64-bit, exact). A database's version is its
``PRAGMA user_version``; :func:`migrate` applies every missing step of
:data:`MIGRATIONS` in order, each in one transaction, so an old file opens at the
current version and a file from a newer quantmarl is refused.

Tables (version 1):

* ``simulations``: one row per simulation (id, creation time, seed, config JSON,
  asset count, agent names JSON);
* ``steps``: one row per (simulation, episode, step, asset): OHLCV, signed volume,
  trades, best bid/ask, spread (-1 = one side empty), depth per side, halted flag,
  fundamental (ticks), the step's fees (minor units, asset 0's row; 0 elsewhere);
* ``agent_steps``: one row per (simulation, episode, step, agent): cash after the
  step (minor units);
* ``positions``: one row per (simulation, episode, step, agent, asset): lots held;
* ``events``: events injected into a simulation (kind name, magnitude, start,
  duration, asset; ``episode`` and ``injected_at`` the step when it was sent);
* ``snapshots``: the last serialised market state of a simulation (``flax``
  msgpack bytes, never pickle), to restore it after a restart;
* ``jobs``: background jobs (kind, status, config JSON, output directory, error).

Version 2 adds ``fills``: one row per continuous-book execution (CDA mode): step,
asset, order within the step, taker and maker accounts, the taker's side, price,
lots and both fees (in auction mode the executions are the position changes); and
``jobs.report``, a finished job's report (JSON).
"""

from __future__ import annotations

import sqlite3

#: column names of ``steps`` after the key columns, in order (all INTEGER)
STEP_COLUMNS = ("open", "high", "low", "close", "volume", "signed_volume", "n_trades",
                "best_bid", "best_ask", "spread", "bid_depth", "ask_depth", "halted",
                "fundamental", "fees")

_V1 = f"""
CREATE TABLE simulations (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,          -- unix seconds
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,           -- JSON, the creating request's config
    n_assets INTEGER NOT NULL,
    agents TEXT NOT NULL            -- JSON list of the smart-tier agent names
);
CREATE TABLE steps (
    sim_id TEXT NOT NULL REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    step INTEGER NOT NULL,          -- market step after the step (1 = first step)
    asset INTEGER NOT NULL,
    {", ".join(f"{c} INTEGER NOT NULL" for c in STEP_COLUMNS)},
    PRIMARY KEY (sim_id, episode, step, asset)
) WITHOUT ROWID;
CREATE TABLE agent_steps (
    sim_id TEXT NOT NULL REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    step INTEGER NOT NULL,
    agent TEXT NOT NULL,
    cash INTEGER NOT NULL,          -- minor units
    PRIMARY KEY (sim_id, episode, step, agent)
) WITHOUT ROWID;
CREATE TABLE positions (
    sim_id TEXT NOT NULL REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    step INTEGER NOT NULL,
    agent TEXT NOT NULL,
    asset INTEGER NOT NULL,
    lots INTEGER NOT NULL,
    PRIMARY KEY (sim_id, episode, step, agent, asset)
) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sim_id TEXT NOT NULL REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    injected_at INTEGER NOT NULL,   -- market step when the event was sent
    kind TEXT NOT NULL,
    magnitude REAL NOT NULL,
    start INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    asset INTEGER NOT NULL          -- -1 = every asset
);
CREATE TABLE snapshots (
    sim_id TEXT PRIMARY KEY REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    step INTEGER NOT NULL,
    state BLOB NOT NULL             -- flax.serialization msgpack
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,           -- queued, running, done, failed, cancelled
    created REAL NOT NULL,
    finished REAL,
    config TEXT NOT NULL,           -- JSON
    directory TEXT NOT NULL,
    error TEXT
);
"""

_V2 = """
CREATE TABLE fills (
    sim_id TEXT NOT NULL REFERENCES simulations(id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    step INTEGER NOT NULL,
    asset INTEGER NOT NULL,
    seq INTEGER NOT NULL,           -- execution order within the step and asset
    taker INTEGER NOT NULL,         -- account that sent the aggressive order
    maker INTEGER NOT NULL,         -- account whose resting order was hit
    side INTEGER NOT NULL,          -- the taker's side: +1 bought, -1 sold
    price INTEGER NOT NULL,         -- ticks
    qty INTEGER NOT NULL,           -- lots
    taker_fee INTEGER NOT NULL,     -- minor units
    maker_fee INTEGER NOT NULL,     -- minor units
    PRIMARY KEY (sim_id, episode, step, asset, seq)
) WITHOUT ROWID;
ALTER TABLE jobs ADD COLUMN report TEXT;  -- JSON: the finished job's report
"""

#: migration ``i`` takes a database from version ``i`` to ``i + 1``
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Bring ``db`` to :data:`VERSION` (each step one transaction); returns the version.

    Raises ``RuntimeError`` for a database written by a newer schema.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise RuntimeError(f"run store schema version {version} is newer than this "
                           f"quantmarl's ({VERSION}); upgrade quantmarl to open it")
    for target in range(version + 1, VERSION + 1):
        script = MIGRATIONS[target - 1]
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
    return VERSION

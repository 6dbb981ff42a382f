"""The SQLite run store: exact int64 round trips, migrations, whole-chunk writes that
survive a killed writer."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from quantmarl.io import SCHEMA_VERSION, RunStore, StepChunk
from quantmarl.io.schema import MIGRATIONS, STEP_COLUMNS

BIG = 2**62 + 12345  # beyond float64's exact integers: must come back unchanged


def _chunk(first: int, t: int, n_assets: int = 2, agents=("a_0", "b_0")) -> StepChunk:
    rng = np.random.default_rng(first)
    market = {c: rng.integers(-5, 10**6, (t, n_assets)).astype(np.int64) for c in STEP_COLUMNS}
    market["close"][0, 0] = BIG
    cash = rng.integers(0, 10**9, (t, len(agents))).astype(np.int64)
    cash[-1, -1] = -BIG
    position = rng.integers(-50, 50, (t, len(agents), n_assets)).astype(np.int64)
    return StepChunk(step=np.arange(first, first + t), market=market, agents=tuple(agents),
                     cash=cash, position=position)


def test_chunks_round_trip_exactly(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.add_simulation("s1", 7, {"market": {"n_assets": 2}}, 2, ["a_0", "b_0"])
        c1, c2 = _chunk(1, 5), _chunk(6, 3)
        store.write_chunk("s1", 0, c1)
        store.write_chunk("s1", 0, c2)
        steps = store.read_steps("s1", 0)
        accounts = store.read_accounts("s1", 0)
    np.testing.assert_array_equal(steps["step"], np.arange(1, 9))
    for c in STEP_COLUMNS:
        assert steps[c].dtype == np.int64
        np.testing.assert_array_equal(steps[c], np.concatenate([c1.market[c], c2.market[c]]))
    assert steps["close"][0, 0] == BIG
    assert accounts["agents"] == ["a_0", "b_0"]
    np.testing.assert_array_equal(accounts["cash"], np.concatenate([c1.cash, c2.cash]))
    np.testing.assert_array_equal(accounts["position"],
                                  np.concatenate([c1.position, c2.position]))
    assert accounts["cash"][4, 1] == -BIG


def test_simulations_events_snapshots_and_jobs(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.add_simulation("s1", 3, {"seed": 3}, 1, ["x_0"])
        store.write_chunk("s1", 0, _chunk(1, 2, 1, ("x_0",)))
        store.add_event("s1", 0, 2, "flash_crash", 0.05, 3, 5, -1)
        store.save_snapshot("s1", 0, 2, b"\x00\x01state")
        store.save_snapshot("s1", 0, 4, b"later")
        store.add_job("j1", "herding", {"quick": True}, "/tmp/j1")
        store.set_job_status("j1", "done", report={"file": "report.json", "report": {"n": 1}})
    with RunStore(path) as store:  # reopened: everything is still there
        assert [s["id"] for s in store.simulations()] == ["s1"]
        assert store.simulations()[0]["config"] == {"seed": 3}
        assert store.events("s1") == [{"episode": 0, "injected_at": 2, "kind": "flash_crash",
                                       "magnitude": 0.05, "start": 3, "duration": 5,
                                       "asset": -1}]
        assert store.load_snapshot("s1") == (0, 4, b"later")
        (job,) = store.jobs()
        assert job["status"] == "done" and job["finished"] is not None
        assert job["report"] == {"file": "report.json", "report": {"n": 1}}
        store.delete_simulation("s1")  # cascades to its steps, accounts, events, snapshot
        assert store.simulations() == [] and store.events("s1") == []
        assert store.load_snapshot("s1") is None
        assert len(store.read_steps("s1")["step"]) == 0


def test_an_old_file_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    db.execute("INSERT INTO simulations VALUES ('old', 0, 1, '{}', 1, '[]')")
    db.close()
    with RunStore(path) as store:
        assert store.version == SCHEMA_VERSION == 2
        assert [s["id"] for s in store.simulations()] == ["old"]
        assert len(store.read_fills("old")["qty"]) == 0  # the new table is there


def test_fills_are_stored_in_execution_order(tmp_path):
    fills = np.zeros((2, 2, 3, 9), np.int64)  # [T, A, F, StepRecord.fills columns]
    # taker_id, maker_id, price, qty, taker, maker, side, taker_fee, maker_fee
    fills[0, 1, 0] = [7, 3, 101, 5, 0, 4, 1, 2, 1]
    fills[0, 1, 1] = [7, 2, BIG, 1, 0, 3, 1, 9, 8]
    fills[1, 0, 2] = [8, 1, 99, 4, 1, 2, -1, 3, 0]  # rows with qty 0 are padding
    chunk = _chunk(1, 2)
    chunk = StepChunk(chunk.step, chunk.market, chunk.agents, chunk.cash, chunk.position, fills)
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.add_simulation("s", 0, {}, 2, list(chunk.agents))
        store.write_chunk("s", 0, chunk)
        got = store.read_fills("s", 0)
    assert {k: v.tolist() for k, v in got.items()} == {
        "step": [1, 1, 2], "asset": [1, 1, 0], "seq": [0, 1, 2], "taker": [0, 0, 1],
        "maker": [4, 3, 2], "side": [1, 1, -1], "price": [101, BIG, 99], "qty": [5, 1, 4],
        "taker_fee": [2, 9, 3], "maker_fee": [1, 8, 0]}


def test_schema_is_versioned_and_newer_files_are_refused(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        assert store.version == SCHEMA_VERSION
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        RunStore(path)


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from quantmarl.io import RunStore, StepChunk
    from quantmarl.io.schema import MIGRATIONS, STEP_COLUMNS
    store = RunStore(sys.argv[1])
    store.add_simulation("s", 0, {}, 1, ["a_0"])
    print("ready", flush=True)
    t = 50
    for k in range(10**6):
        first = 1 + k * t
        market = {c: np.full((t, 1), k, np.int64) for c in STEP_COLUMNS}
        store.write_chunk("s", 0, StepChunk(np.arange(first, first + t), market, ("a_0",),
                                            np.full((t, 1), k, np.int64),
                                            np.zeros((t, 1, 1), np.int64)))
""")


def test_a_killed_writer_loses_at_most_the_chunk_in_flight(tmp_path):
    path = tmp_path / "runs.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until a few chunks are in
            time.sleep(0.2)
            db = sqlite3.connect(path, timeout=30)
            n = db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
            db.close()
            if n >= 200:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with RunStore(path) as store:
        steps = store.read_steps("s", 0)
        accounts = store.read_accounts("s", 0)
    t = len(steps["step"])
    assert t >= 200 and t % 50 == 0  # whole chunks only
    np.testing.assert_array_equal(steps["step"], np.arange(1, t + 1))
    np.testing.assert_array_equal(steps["close"][:, 0], np.repeat(np.arange(t // 50), 50))
    assert len(accounts["step"]) == t  # the accounts of every stored step, none more

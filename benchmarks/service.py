"""Service throughput: one simulation stepped through the HTTP API (a real
``python -m quantmarl.serve`` on 127.0.0.1, httpx client) in requests of 1 and of 100
steps, against the same simulation stepped in-process (:class:`Simulation.step`, run
store included); the per-request overhead is the difference per call. Also the run
store's write throughput (step rows and fills per second, chunks of 100 steps, each
chunk one transaction).

Run ``python -m benchmarks.service [--quick]``; prints JSON lines
``{"name", "value", "unit"}``. The market is the ``smoke`` preset (momentum-trader
slot on random actions, CDA book), compiled before timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import emit, machine, record
from quantmarl import runtime
from quantmarl.io import RunStore, StepChunk
from quantmarl.io.schema import STEP_COLUMNS
from quantmarl.rl.config import PRESETS, TrainConfig
from quantmarl.serve.simulation import Simulation

CONFIG = {"market": {"clearing": "cda", "episode_length": 100_000}}


@contextlib.contextmanager
def server(db: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "quantmarl.serve", "--port", str(port),
                             "--db", str(db), "--jobs", str(db.parent / "jobs")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def timed(fn, calls: int) -> float:
    """Seconds per call of ``fn`` (after one untimed call)."""
    fn()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def api_seconds(url: str, calls: dict[int, int]) -> dict[int, float]:
    with httpx.Client(base_url=url, timeout=600) as c:
        sim = c.post("/simulations", json={"config": CONFIG}).json()["id"]
        c.post(f"/simulations/{sim}/agents", json={"controller": "random"})
        return {n: timed(lambda n=n: c.post(f"/simulations/{sim}/step", json={"steps": n})
                         .raise_for_status(), k) for n, k in calls.items()}


def local_seconds(db: Path, calls: dict[int, int]) -> dict[int, float]:
    config = TrainConfig.from_dict({**PRESETS["smoke"], **CONFIG})
    with RunStore(db) as store:
        sim = Simulation("local", config, 0, store=store)
        sim.bind(sim.env.agents[0], "random")
        return {n: timed(lambda n=n: sim.step(n), k) for n, k in calls.items()}


def store_throughput(db: Path, chunks: int) -> tuple[float, float]:
    """(step rows/s, fills/s) writing chunks of 100 steps of one asset, two smart slots
    and 20 fills per step (steps, agent_steps and positions rows; fills rows)."""
    t, a, agents, per_step = 100, 1, ("a_0", "b_0"), 20
    rng = np.random.default_rng(0)
    fills = np.zeros((t, a, 2 * per_step, 9), np.int64)  # half of the log is padding
    fills[:, :, :per_step] = rng.integers(1, 10**4, (t, a, per_step, 9))
    with RunStore(db) as store:
        store.add_simulation("bench", 0, {}, a, agents)
        t0 = time.perf_counter()
        for k in range(chunks):
            market = {c: rng.integers(0, 10**6, (t, a)) for c in STEP_COLUMNS}
            store.write_chunk("bench", 0, StepChunk(
                np.arange(k * t + 1, (k + 1) * t + 1), market, agents,
                rng.integers(0, 10**9, (t, 2)), rng.integers(-9, 9, (t, 2, a)), fills))
        seconds = time.perf_counter() - t0
    rows_per_step = a + len(agents) + len(agents) * a  # steps, agent_steps, positions
    return chunks * t * rows_per_step / seconds, chunks * t * a * per_step / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args(argv)
    runtime.configure()
    calls = {1: 50, 100: 5} if args.quick else {1: 300, 100: 20}
    emit([machine()])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        local = local_seconds(tmp / "local.sqlite", calls)
        with server(tmp / "api.sqlite") as url:
            api = api_seconds(url, calls)
        rows, fills = store_throughput(tmp / "store.sqlite", 20 if args.quick else 100)
    out = []
    for n in calls:
        out += [record(f"service_api_steps_per_s_chunk{n}", round(n / api[n], 1), "steps/s"),
                record(f"service_local_steps_per_s_chunk{n}", round(n / local[n], 1),
                       "steps/s"),
                record(f"service_request_overhead_ms_chunk{n}",
                       round((api[n] - local[n]) * 1e3, 2), "ms"),
                record(f"service_api_vs_local_chunk{n}", round(local[n] / api[n], 3),
                       "ratio")]
    out.append(record("store_write_step_rows_per_s", round(rows), "rows/s"))
    out.append(record("store_write_fills_per_s", round(fills), "fills/s"))
    emit(out)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()

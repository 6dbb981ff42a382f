"""Background jobs: training runs and experiments as subprocesses of the service.

A job runs ``python -m quantmarl.train`` or ``python -m experiments.NAME`` (never an
import: a job cannot take the service down) in its own session, writing into its
own directory under the jobs root: ``log.txt`` (its output), ``config.yaml`` (the
request's config, if any) and what the command writes (a checkpoint and
``metrics.json`` for training; ``report.json``, ``report.md`` and figures for an
experiment). It outlives the request that started it and the client that sent it.
Status: ``running``, ``done`` (exit 0), ``failed``, ``cancelled``; ``progress`` is
the last line of its output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from quantmarl.io import RunStore
from quantmarl.serve.simulation import SimulationError

EXPERIMENTS = ("herding", "volatility", "liquidity")
KINDS = ("train", *EXPERIMENTS)
CURVE_EVERY = 5  # a training job saves its metrics every this many updates (live curves)


@dataclass
class Job:
    id: str
    kind: str
    directory: Path
    command: list[str]
    process: subprocess.Popen | None = None
    status: str = "running"
    returncode: int | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Jobs:
    """The service's jobs (thread-safe), recorded in ``store`` when one is given."""

    def __init__(self, root: str | Path, store: RunStore | None = None,
                 cwd: str | Path | None = None):
        self.root = Path(root).resolve()
        self.store, self.cwd = store, Path(cwd or os.getcwd()).resolve()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def command(self, kind: str, directory: Path, quick: bool, preset: str | None,
                seeds: int | None, config: dict) -> list[str]:
        """The command line of a job (validated request fields)."""
        if kind not in KINDS:
            raise SimulationError("kind", f"kind must be one of {list(KINDS)}, got {kind!r}")
        args = [sys.executable, "-m"]
        if kind == "train":
            args += ["quantmarl.train", "--preset", preset or ("smoke" if quick else "default"),
                     "--checkpoint-dir", str(directory), "--no-progress",
                     "--checkpoint-every", str(CURVE_EVERY)]
        else:
            if preset is not None:
                raise SimulationError("preset", "preset is for training jobs; experiments "
                                      "take quick and config")
            args += [f"experiments.{kind}", "--out", str(directory)] + (["--quick"] if quick
                                                                        else [])
        if seeds is not None:
            args += ["--seeds", str(seeds)]
        if config:
            args += ["--config", str(directory / "config.yaml")]
        return args

    def start(self, kind: str, quick: bool = True, preset: str | None = None,
              seeds: int | None = None, config: dict | None = None) -> Job:
        job_id = uuid.uuid4().hex[:12]
        directory = self.root / job_id
        command = self.command(kind, directory, quick, preset, seeds, config or {})
        directory.mkdir(parents=True)
        if config:
            (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        job = Job(job_id, kind, directory, command)
        if self.store is not None:
            self.store.add_job(job_id, kind, {"quick": quick, "preset": preset,
                                              "seeds": seeds, "config": config or {}},
                               str(directory))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(self.cwd), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        with open(directory / "log.txt", "wb") as log:
            job.process = subprocess.Popen(command, cwd=self.cwd, stdout=log,
                                           stderr=subprocess.STDOUT, env=env,
                                           start_new_session=True)
        with self._lock:
            self._jobs[job_id] = job
        if self.store is not None:
            self.store.set_job_status(job_id, "running")
        threading.Thread(target=self._watch, args=(job,), daemon=True).start()
        return job

    def _watch(self, job: Job) -> None:
        code = job.process.wait()
        with self._lock:
            job.returncode = code
            if job.status == "running":
                job.status = "done" if code == 0 else "failed"
        if self.store is not None:
            error = None if job.status != "failed" else self.progress(job)
            self.store.set_job_status(job.id, job.status, error, report(job))
        job.done.set()

    def get(self, job_id: str) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise SimulationError("job_id", f"no job {job_id!r}", status=404)
            return self._jobs[job_id]

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self._lock:
            if job.status != "running":
                return job
            job.status = "cancelled"
        try:
            os.killpg(job.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        return job

    def shutdown(self) -> None:
        """Cancel every running job (the service is stopping)."""
        for job in self.all():
            self.cancel(job.id)

    @staticmethod
    def progress(job: Job) -> str:
        """The last line the job wrote (progress bars rewrite lines with ``\\r``)."""
        log = job.directory / "log.txt"
        if not log.exists():
            return ""
        with open(log, "rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            tail = f.read().decode("utf-8", "replace").replace("\r", "\n")
        lines = [line.strip() for line in tail.split("\n") if line.strip()]
        return lines[-1] if lines else ""

    def files(self, job: Job) -> list[str]:
        return sorted(p.relative_to(job.directory).as_posix()
                      for p in job.directory.rglob("*") if p.is_file())

    def file(self, job: Job, name: str) -> Path:
        """A file of the job's directory; paths that leave it are refused."""
        path = (job.directory / name).resolve()
        if job.directory.resolve() not in path.parents or not path.is_file():
            raise SimulationError("name", f"no file {name!r} in job {job.id}", status=404)
        return path


def report(job: Job) -> dict | None:
    """A finished job's report: an experiment's ``report.json``, a training run's final
    metrics (``metrics.json``), as ``{"file": name, "report": content}``; None if none."""
    for name in ("report.json", "metrics.json"):
        path = job.directory / name
        if path.is_file():
            return {"file": name, "report": json.loads(path.read_text())}
    return None


def describe(jobs: Jobs, job: Job) -> dict:
    return {"id": job.id, "kind": job.kind, "status": job.status, "returncode": job.returncode,
            "progress": jobs.progress(job), "directory": str(job.directory),
            "command": job.command[1:]}

"""Background jobs: a training run to its report, an experiment cancelled, files served
only from inside the job, the run store's job records."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from quantmarl.io import RunStore
from quantmarl.serve.app import create_app

TINY_TRAIN = {"iterations": 2, "n_envs": 4, "n_steps": 8, "n_minibatches": 2,
              "update_epochs": 1, "hidden": [8],
              "market": {"episode_length": 16, "background_orders": 8,
                         "reactive": [["noise", 4], ["fundamental", 4]]}}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("service")
    with TestClient(create_app(root / "runs.sqlite", jobs=root / "jobs")) as c:
        c.db = root / "runs.sqlite"
        yield c


def _wait(client, job_id: str, timeout: float = 400.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    return job


def test_a_training_job_runs_to_its_report(client):
    r = client.post("/jobs", json={"kind": "train", "seeds": 1, "config": TINY_TRAIN})
    assert r.status_code == 201, r.text
    job = _wait(client, r.json()["id"])
    assert job["status"] == "done" and job["returncode"] == 0, job["progress"]
    report = client.get(f"/jobs/{job['id']}/report").json()
    assert report["file"] == "metrics.json"
    assert len(report["report"]["momentum_trader"]["entropy"][0]) == 2  # [seed][update]
    files = client.get(f"/jobs/{job['id']}/files").json()
    assert {"log.txt", "config.yaml", "metrics.csv", "learning_curve.png"} <= set(files)
    png = client.get(f"/jobs/{job['id']}/files/learning_curve.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    for bad in ("../runs.sqlite", "..%2Fruns.sqlite", "/etc/passwd"):
        assert client.get(f"/jobs/{job['id']}/files/{bad}").status_code == 404
    with RunStore(client.db) as store:
        (stored,) = [j for j in store.jobs() if j["id"] == job["id"]]
    assert stored["status"] == "done" and stored["config"]["config"] == TINY_TRAIN
    assert stored["report"] == report  # the report is kept in the store too


def test_an_experiment_job_can_be_cancelled(client):
    job = client.post("/jobs", json={"kind": "herding", "quick": True}).json()
    assert job["status"] == "running" and "experiments.herding" in job["command"]
    assert client.get(f"/jobs/{job['id']}/report").status_code == 409
    done = client.post(f"/jobs/{job['id']}/cancel").json()
    assert done["status"] == "cancelled" and done["returncode"] is not None
    assert job["id"] in [j["id"] for j in client.get("/jobs").json()]


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "astrology"}, "kind"),
    ({"kind": "herding", "preset": "smoke"}, "preset"),
    ({"kind": "train", "seeds": 0}, "seeds"),
])
def test_bad_jobs_are_refused_naming_the_field(client, body, field):
    r = client.post("/jobs", json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text

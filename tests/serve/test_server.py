"""The service as users run it: ``python -m quantmarl.serve`` on 127.0.0.1, driven over
HTTP with httpx, stopped and started again on the same run store."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.serve.conftest import SMALL, serve


def test_a_simulation_survives_a_server_restart(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    jobs = str(tmp_path / "jobs")
    with serve("--db", db, "--jobs", jobs) as url, httpx.Client(base_url=url, timeout=300) as c:
        assert c.get("/docs").status_code == 200
        sim = c.post("/simulations", json={"config": SMALL, "seed": 1}).json()
        c.post(f"/simulations/{sim['id']}/agents", json={"controller": "random"})
        assert c.post(f"/simulations/{sim['id']}/step", json={"steps": 12}).json()["step"] == 12
        before = c.get(f"/simulations/{sim['id']}").json()["assets"][0]
    with serve("--db", db, "--jobs", jobs) as url, httpx.Client(base_url=url, timeout=300) as c:
        (back,) = c.get("/simulations").json()
        assert back["id"] == sim["id"] and back["step"] == 12
        assert back["agents"]["momentum_trader_0"] == "hold"  # controllers are not restored
        after = c.get(f"/simulations/{sim['id']}").json()["assets"][0]
        assert (after["last_price"], after["ladder"]) == (before["last_price"], before["ladder"])
        assert c.post(f"/simulations/{sim['id']}/step", json={"steps": 3}).json()["step"] == 15


def test_off_loopback_needs_a_token():
    r = subprocess.run([sys.executable, "-m", "quantmarl.serve", "--host", "0.0.0.0"],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "QUANTMARL_TOKEN"})
    assert r.returncode == 2 and "--token" in r.stderr


def test_token_is_required_by_a_real_server(tmp_path):
    with serve("--db", "", "--token", "t0ken", "--jobs", str(tmp_path / "jobs")) as url:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Token": "t0ken"}):
            assert httpx.get(f"{url}/simulations", headers=headers).status_code == 401
        ok = httpx.get(f"{url}/simulations", headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200 and ok.json() == []

"""Remote agents: a slot of a live simulation driven from another process over HTTP, by a
random policy and by a checkpoint's frozen policy; slots that stay silent time out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np
import pytest

from quantmarl.client import Client
from quantmarl.io import RunStore
from quantmarl.rl import checkpoint
from quantmarl.rl.config import PRESETS, TrainConfig
from quantmarl.rl.policy import FrozenPolicy
from quantmarl.rl.train import make_trainer, seed_keys
from tests.serve.conftest import SMALL, serve

STEPS = 12
AGENT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from quantmarl.client import RemoteEnv
    from quantmarl.rl.checkpoint import load_opponents
    from quantmarl.rl.policy import FrozenPolicy
    url, sim_id, steps, ckpt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    env = RemoteEnv(url, sim_id, "momentum_trader_0", wait=120)
    env.action_space.seed(0)
    policy = FrozenPolicy(load_opponents([ckpt])[0], (3,)) if ckpt else None
    obs, info = env.reset()
    rows = []
    for _ in range(steps):
        a = int(policy(obs[None])[0, 0]) if policy else int(env.action_space.sample())
        rows.append({"obs": obs.tolist(), "action": a})
        obs, reward, terminated, truncated, info = env.step(a)
    env.close()
    print(json.dumps({"rows": rows, "info": info}))
""")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint of momentum_trader learners (networks as initialised: the test is
    about running a checkpoint's frozen policy remotely, not about its quality)."""
    config = TrainConfig.from_dict({**PRESETS["smoke"], "seeds": 1, **SMALL,
                                    "agent_types": ["momentum_trader"]})
    trainer = make_trainer(config)
    runner = jax.vmap(trainer.init)(seed_keys(config))
    return checkpoint.save(tmp_path_factory.mktemp("ckpt") / "run", config, runner)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("server") / "runs.sqlite"
    with serve("--db", str(db), "--jobs", str(db.parent / "jobs")) as url:
        yield url, db


@pytest.mark.parametrize("policy", ["random", "checkpoint"])
def test_a_remote_process_trades_in_a_live_market(server, trained, policy):
    url, _ = server
    with Client(url) as api:
        sim = api.create(SMALL, seed=2, remote_timeout=60)["id"]
        api.add_agent(sim, "random", "market_maker_0")
        before = api.agents(sim, limit=10_000)
        ckpt = str(trained) if policy == "checkpoint" else ""
        out = subprocess.run([sys.executable, "-c", AGENT, url, sim, str(STEPS), ckpt],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        after = api.agents(sim, limit=10_000)
        assert api.state(sim)["step"] == STEPS
        assert result["info"]["step"] == STEPS and result["info"]["timeouts"] == 0
        assert after["accounts"][0]["controller"] == "hold"  # closed: the slot was removed
    assert _totals(after) == _totals(before)  # conservation across the remote session
    actions = [r["action"] for r in result["rows"]]
    if policy == "random":
        assert len(set(actions)) > 1
    else:  # the actions sent are the frozen policy's on the observations received
        local = FrozenPolicy(checkpoint.load_opponents([trained])[0], (3,))
        again = [int(local(np.asarray(r["obs"], np.float32)[None])[0, 0]) for r in result["rows"]]
        assert again == actions


def test_concurrent_clients_lose_and_repeat_no_step(server):
    """16 clients step 4 simulations at once (5 requests of 1 step each): every
    simulation takes exactly its 20 steps, each stored once, and conserves cash and lots."""
    url, db = server
    with Client(url) as api:
        sims = [api.create(SMALL, seed=10 + i)["id"] for i in range(4)]
        for sim in sims:
            api.add_agent(sim, "random", "momentum_trader_0")
            api.add_agent(sim, "random", "market_maker_0")
        before = {sim: _totals(api.agents(sim, limit=10_000)) for sim in sims}

    def client(i: int) -> list[int]:
        with Client(url) as c:
            return [c.step(sims[i % 4], 1)["step"] for _ in range(5)]

    with ThreadPoolExecutor(16) as pool:
        seen = list(pool.map(client, range(16)))
    for i in range(len(sims)):
        steps = sorted(s for k, got in enumerate(seen) if k % 4 == i for s in got)
        assert steps == list(range(1, 21))  # each request got its own step
    with Client(url) as api, RunStore(db) as store:
        for sim in sims:
            assert api.state(sim)["step"] == 20
            assert store.read_steps(sim, 0)["step"].tolist() == list(range(1, 21))
            assert _totals(api.agents(sim, limit=10_000)) == before[sim]


def _totals(rows: dict) -> tuple[int, list[int]]:
    cash = sum(a["cash"] for a in rows["accounts"]) + rows["fees_collected"]
    return cash, np.sum([a["position"] for a in rows["accounts"]], axis=0).tolist()


def test_a_slot_runs_a_checkpoint_from_the_models_directory(tmp_path, trained):
    """``--models``: a slot driven by a checkpoint's greedy policy; names outside the
    directory are refused."""
    from fastapi.testclient import TestClient

    from quantmarl.serve.app import create_app

    models = trained.parent
    with TestClient(create_app(None, jobs=tmp_path / "jobs", models=models)) as c:
        sid = c.post("/simulations", json={"config": SMALL, "seed": 6}).json()["id"]
        for bad, status in (("../" + models.name + "/..", 422), ("/etc", 422),
                            ("nothing", 404)):
            r = c.post(f"/simulations/{sid}/agents", json={
                "agent": "momentum_trader_0", "controller": "checkpoint", "checkpoint": bad})
            assert r.status_code == status and r.json()["field"] == "checkpoint", r.text
        r = c.post(f"/simulations/{sid}/agents", json={
            "agent": "market_maker_0", "controller": "checkpoint", "checkpoint": trained.name})
        assert r.status_code == 422 and "spaces" in r.json()["error"]  # momentum learners only
        r = c.post(f"/simulations/{sid}/agents", json={
            "agent": "momentum_trader_0", "controller": "checkpoint",
            "checkpoint": trained.name})
        assert r.status_code == 201, r.text
        seen = []
        policy = FrozenPolicy(checkpoint.load_opponents([trained])[0], (3,))
        for _ in range(5):  # the slot acts as the policy does on its observations
            obs = c.get(f"/simulations/{sid}/agents/momentum_trader_0/observation").json()
            seen.append(int(policy(np.asarray(obs["observation"], np.float32)[None])[0, 0]))
            c.post(f"/simulations/{sid}/step", json={"steps": 1})
        assert c.post(f"/simulations/{sid}/step", json={"steps": 3}).json()["step"] == 8
        records = list(c.app.state.sessions.get(sid).records)[:5]
    traded = [int(rec.agent_qty[0, 0]) for _, rec, *_ in records]  # slot 0's lots per step
    for action, lots in zip(seen, traded, strict=True):  # 0 hold, 1 buy, 2 sell
        assert (lots == 0) if action == 0 else (lots >= 0 if action == 1 else lots <= 0)
    assert any(seen) == any(traded)


def test_remote_parallel_env_passes_the_pettingzoo_api_test(server):
    from pettingzoo.test import parallel_api_test

    from quantmarl.client import RemoteParallelEnv

    url, _ = server
    with Client(url) as api:
        sim = api.create(SMALL, seed=20, remote_timeout=30)["id"]
    env = RemoteParallelEnv(url, sim, ["momentum_trader_0", "market_maker_0"], wait=120)
    try:
        parallel_api_test(env, num_cycles=80)  # past the 64-step episode: a new one begins
        obs, _ = env.reset()
        assert set(obs) == {"momentum_trader_0", "market_maker_0"}
        assert env.observation_space("market_maker_0").contains(obs["market_maker_0"])
    finally:
        env.close()
    with Client(url) as api:
        assert api.state(sim)["episode"] >= 1
        agents = api.agents(sim, tier="smart")["accounts"]
    assert [a["controller"] for a in agents] == ["hold", "hold"]  # released by close

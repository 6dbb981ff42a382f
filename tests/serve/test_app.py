"""The service through FastAPI's TestClient: every route, errors that name the field,
conservation after agents come and go, and the run store it writes."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from quantmarl.io import RunStore
from quantmarl.serve.app import create_app
from tests.serve.conftest import SMALL


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("store") / "runs.sqlite"
    with TestClient(create_app(db)) as c:
        c.db = db
        yield c


@pytest.fixture(scope="module")
def sim(client):
    r = client.post("/simulations", json={"config": SMALL, "seed": 3})
    assert r.status_code == 201, r.text
    return r.json()


def _totals(client, sim_id):
    rows = client.get(f"/simulations/{sim_id}/agents", params={"limit": 10_000}).json()
    cash = sum(a["cash"] for a in rows["accounts"])
    lots = np.sum([a["position"] for a in rows["accounts"]], axis=0)
    return cash + rows["fees_collected"], lots.tolist()


def test_a_config_can_be_sent_as_yaml(client):
    text = yaml.safe_dump(SMALL)
    r = client.post("/simulations", json={"config_yaml": text, "seed": 8})
    assert r.status_code == 201 and r.json()["clearing"] == "cda"
    assert set(r.json()["agents"]) == {"momentum_trader_0", "market_maker_0"}


def test_create_list_get_step(client, sim):
    assert sim["agents"] == {"momentum_trader_0": "hold", "market_maker_0": "hold"}
    assert sim["spaces"]["market_maker_0"]["action"] == {"type": "MultiDiscrete",
                                                         "nvec": [5, 5, 3]}
    assert sim["spaces"]["momentum_trader_0"]["action"] == {"type": "Discrete", "n": 3}
    assert sim["id"] in [s["id"] for s in client.get("/simulations").json()]
    r = client.post(f"/simulations/{sim['id']}/step", json={"steps": 40})
    assert r.status_code == 200 and r.json()["step"] == 40
    state = client.get(f"/simulations/{sim['id']}", params={"depth": 3, "window": 10}).json()
    (asset,) = state["assets"]
    assert len(asset["bars"]) == 10 and asset["bars"][-1]["step"] == 40
    assert asset["bars"][-1]["close"] == asset["last_price"]
    ladder = asset["ladder"]
    assert len(ladder["bids"]) <= 3 and len(ladder["asks"]) <= 3
    if ladder["bids"] and ladder["asks"]:
        assert ladder["bids"][0][0] < ladder["asks"][0][0]  # never crossed
        assert [p for p, _ in ladder["bids"]] == sorted((p for p, _ in ladder["bids"]),
                                                        reverse=True)


def test_agents_events_breaker_and_conservation(client, sim):
    sid = sim["id"]
    before = _totals(client, sid)
    r = client.post(f"/simulations/{sid}/agents", json={"controller": "scripted"})
    assert r.status_code == 201 and r.json()["agent"] == "momentum_trader_0"
    r = client.post(f"/simulations/{sid}/agents",
                    json={"agent": "market_maker_0", "controller": "random"})
    assert r.status_code == 201
    r = client.post(f"/simulations/{sid}/events",
                    json={"kind": "flash_crash", "magnitude": 0.05, "duration": 3})
    assert r.status_code == 201 and r.json()["start"] == 40
    assert client.put(f"/simulations/{sid}/breaker",
                      json={"threshold": 0.2, "halt_steps": 2}).status_code == 200
    client.post(f"/simulations/{sid}/step", json={"steps": 5})
    r = client.delete(f"/simulations/{sid}/agents/market_maker_0")
    assert r.status_code == 200 and len(r.json()["cancelled_lots"]) == 1
    client.post(f"/simulations/{sid}/step", json={"steps": 3})
    assert _totals(client, sid) == before  # cash + fees and lots are conserved exactly
    rows = client.get(f"/simulations/{sid}/agents", params={"tier": "smart"}).json()
    assert [a["controller"] for a in rows["accounts"]] == ["scripted", "hold"]
    perf = client.get(f"/simulations/{sid}/performance").json()
    assert perf["steps"] == 48 and set(perf["agents"]) == {"momentum_trader_0",
                                                            "market_maker_0"}
    assert perf["agents"]["market_maker_0"]["trades"] >= 1
    facts = client.get(f"/simulations/{sid}/analysis", params={"window": 40}).json()
    assert facts["steps"] == 40 and facts["assets"][0]["mean_spread"] > 0
    with RunStore(client.db) as store:
        steps = store.read_steps(sid, 0)
        assert steps["step"].tolist() == list(range(1, 49))
        assert [e["kind"] for e in store.events(sid)] == ["flash_crash"]
        fills = store.read_fills(sid, 0)
    traded = np.zeros(49, np.int64)
    np.add.at(traded, fills["step"], fills["qty"])
    halted = steps["halted"][:, 0].astype(bool)  # a reopening call's lots are not fills
    np.testing.assert_array_equal(traded[1:][~halted], steps["volume"][:, 0][~halted])
    n_accounts = 2 + 22 + 1  # smart slots, reactive agents, the background pool
    assert len(fills["qty"]) > 0 and fills["taker"].max() < n_accounts
    assert fills["maker"].min() >= 0 and fills["maker"].max() < n_accounts
    assert set(np.unique(fills["side"])) <= {-1, 1} and np.all(fills["taker_fee"] >= 0)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/simulations", {"config": {"market": {"n_assets": 0}}}, "config.market"),
    ("/simulations", {"config": {"agent_types": ["nobody"]}}, "config.agent_types"),
    ("/simulations", {"config": {}, "seed": -1}, "seed"),
    ("/simulations", {"confg": {}}, "confg"),
    ("/simulations", {"config_yaml": "market: [1, 2"}, "config_yaml"),
    ("/simulations", {"config_yaml": "- a list"}, "config_yaml"),
    ("/simulations", {"config_yaml": "market:\n  n_assets: 0\n"}, "config.market"),
    ("/simulations", {"config": {"market": {"reactive": [["noise", 200_000]]}}},
     "config.market.reactive"),
    ("{sim}/step", {"steps": 0}, "steps"),
    ("{sim}/step", {"steps": 10_000}, "steps"),
    ("{sim}/events", {"kind": "flash_crash", "magnitude": 1.5}, "magnitude"),
    ("{sim}/events", {"kind": "meteor", "magnitude": 0.1}, "kind"),
    ("{sim}/events", {"kind": "flash_crash", "magnitude": 0.1, "asset": 3}, "asset"),
    ("{sim}/agents", {"agent": "market_maker_0", "controller": "wizard"}, "controller"),
    ("{sim}/agents/momentum_trader_0/action", {"action": "buy"}, "action"),
])
def test_bad_input_is_a_422_naming_the_field(client, sim, path, body, field):
    r = client.post(path.format(sim=f"/simulations/{sim['id']}"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"].startswith(field), r.json()
    assert "Traceback" not in r.text


def test_unknown_ids_are_404_and_remote_actions_are_checked(client, sim):
    assert client.get("/simulations/nope").status_code == 404
    r = client.delete(f"/simulations/{sim['id']}/agents/ghost_0")
    assert r.status_code == 404 and r.json()["field"] == "agent"
    sid = sim["id"]
    client.post(f"/simulations/{sid}/agents",
                json={"agent": "momentum_trader_0", "controller": "remote"})
    r = client.post(f"/simulations/{sid}/agents/momentum_trader_0/action", json={"action": [3]})
    assert r.status_code == 422 and r.json()["field"] == "action"  # Discrete(3)
    r = client.post(f"/simulations/{sid}/agents/momentum_trader_0/action", json={"action": [1]})
    assert r.status_code == 200
    r = client.post(f"/simulations/{sid}/agents/market_maker_0/action",
                    json={"action": [1, 1, 0]})
    assert r.status_code == 409  # not a remote slot


def test_body_limit_and_token(tmp_path):
    with TestClient(create_app(None, token="s3cret", max_body=256)) as c:
        assert c.get("/health").status_code == 401
        for page in ("/", "/agents", "/web/market.js", "/vendor/plotly.min.js"):
            assert c.get(page).status_code == 200, page  # pages hold no data
        assert c.get("/web/../health").status_code in (401, 404)
        ok = {"Authorization": "Bearer s3cret"}
        assert c.get("/health", headers=ok).json()["status"] == "ok"
        assert c.get("/health", headers={"Authorization": "Bearer nope"}).status_code == 401
        r = c.post("/simulations", headers=ok, json={"config": {"x": "y" * 1000}})
        assert r.status_code == 413 and r.json()["field"] == "body"


def test_remote_slots_step_together_or_time_out(client):
    sid = client.post("/simulations", json={"config": SMALL, "seed": 4,
                                            "remote_timeout": 0.3}).json()["id"]
    for agent in ("momentum_trader_0", "market_maker_0"):
        client.post(f"/simulations/{sid}/agents", json={"agent": agent, "controller": "remote"})
    obs = client.get(f"/simulations/{sid}/agents/momentum_trader_0/observation").json()
    assert obs["step"] == 0 and len(obs["observation"]) > 0
    # both act: the market steps at once
    client.post(f"/simulations/{sid}/agents/momentum_trader_0/action", json={"action": [1]})
    r = client.post(f"/simulations/{sid}/agents/market_maker_0/action",
                    json={"action": [1, 1, 0]})
    assert r.json()["for_step"] == 1
    obs = client.get(f"/simulations/{sid}/agents/momentum_trader_0/observation",
                     params={"after": 0, "timeout": 10}).json()
    assert obs["step"] == 1 and obs["timeouts"] == 0
    # one acts, the other is silent: the step comes after the timeout, the silent one holds
    client.post(f"/simulations/{sid}/agents/momentum_trader_0/action", json={"action": [2]})
    obs = client.get(f"/simulations/{sid}/agents/market_maker_0/observation",
                     params={"after": 1, "timeout": 10}).json()
    assert obs["step"] == 2 and obs["timeouts"] == 1
    # an explicit step waits for them, then both hold
    assert client.post(f"/simulations/{sid}/step", json={"steps": 2}).json()["step"] == 4
    obs = client.get(f"/simulations/{sid}/agents/momentum_trader_0/observation").json()
    assert obs["timeouts"] == 2


def test_the_stream_sends_every_step_once(client):
    sid = client.post("/simulations", json={"config": SMALL, "seed": 5}).json()["id"]
    client.post(f"/simulations/{sid}/step", json={"steps": 3})
    seen = []

    def read(after: int, limit: int) -> None:
        with client.stream("GET", f"/simulations/{sid}/stream",
                           params={"after": after, "limit": limit}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))

    read(1, 2)  # kept steps
    assert [e["step"] for e in seen] == [2, 3]
    reader = threading.Thread(target=read, args=(3, 4))
    reader.start()  # live steps, sent as they come
    for _ in range(4):
        client.post(f"/simulations/{sid}/step", json={"steps": 1})
    reader.join(timeout=60)
    assert [e["step"] for e in seen] == [2, 3, 4, 5, 6, 7]
    state = client.get(f"/simulations/{sid}", params={"window": 1}).json()
    assert seen[-1]["assets"][0]["close"] == state["assets"][0]["last_price"]
    assert set(seen[-1]["agents"]) == {"momentum_trader_0", "market_maker_0"}


def test_an_unexpected_error_is_a_500_without_a_stack_trace(tmp_path):
    app = create_app(None, jobs=tmp_path / "jobs")

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500 and r.json() == {"error": "internal error", "field": None}
    assert "secret" not in r.text and "Traceback" not in r.text

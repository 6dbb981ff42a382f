"""The research service: a FastAPI app over live simulations (OpenAPI docs at ``/docs``).

``app = create_app(db="runs.sqlite")``; served by ``python -m quantmarl.serve``.
Routes (JSON in and out; errors as in :mod:`quantmarl.serve.guard`):

========================================  ==============================================
``GET  /``                                the dashboard (:mod:`quantmarl.serve.web`)
``GET  /health``                          liveness, schema version, live simulations
``POST /simulations``                     create from a config mapping (201)
``GET  /simulations``                     list live simulations
``GET  /simulations/{id}``                state: step, prices, OHLCV bars, book ladder,
                                          halts, active events (``depth``, ``window``)
``POST /simulations/{id}/step``           advance ``steps`` steps (jitted chunks)
``POST /simulations/{id}/reset``          a new episode
``DELETE /simulations/{id}``              stop it (``purge=true``: also its records)
``GET  /simulations/{id}/stream``         server-sent events: one per step (``after``,
                                          ``limit``)
``GET  /simulations/{id}/agents``         every account: tier, behaviour, cash, position,
                                          PnL (``tier``, ``offset``, ``limit``)
``POST /simulations/{id}/agents``         bind a smart-tier slot to a controller (201)
``DELETE /simulations/{id}/agents/{a}``   remove: orders cancelled, account kept
``POST /simulations/{id}/agents/{a}/action``  a remote or manual slot's next action
``GET  /simulations/{id}/agents/{a}/observation``  its observation, reward, status
                                          (``after``: wait until past that step)
``POST /simulations/{id}/events``         inject an event now or at a step (201)
``PUT  /simulations/{id}/breaker``        circuit-breaker rules
``GET  /simulations/{id}/performance``    per-agent PnL, Sharpe, drawdown, win rate,
                                          trades (``window``)
``GET  /simulations/{id}/analysis``       stylized facts, spread, depth, volatility,
                                          herding (``window``)
``GET  /simulations/{id}/facts``          stylized facts beside the S&P 500's, ACFs and
                                          return densities (``window``, ``asset``)
``POST /jobs``, ``GET /jobs[/{id}]``     background training runs and experiments
                                          (:mod:`quantmarl.serve.job_routes`)
========================================  ==============================================
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import StreamingResponse

from quantmarl.io import SCHEMA_VERSION, RunStore
from quantmarl.serve import controls, models, views
from quantmarl.serve.facts import compare_facts
from quantmarl.serve.guard import MAX_BODY, Guard, install_handlers
from quantmarl.serve.job_routes import job_routes
from quantmarl.serve.jobs import Jobs
from quantmarl.serve.schemas import (
    ActionRequest,
    AgentCreate,
    BreakerConfig,
    EventCreate,
    SimulationCreate,
    StepRequest,
    config_mapping,
)
from quantmarl.serve.sessions import Sessions
from quantmarl.serve.simulation import Simulation, SimulationError
from quantmarl.serve.web import PUBLIC, web_routes

POLL = 0.05  # s between looks for new steps in a stream
WINDOW = Query(None, ge=2, le=100_000, description="steps (default: all kept in memory)")


def _summary(sim: Simulation) -> dict:
    return {"id": sim.id, "seed": sim.seed, "episode": sim.episode, "step": sim.step_count,
            "steps_left": sim.steps_left, "clearing": sim.market_config.clearing,
            "n_assets": sim.market_config.n_assets, "agents": dict(sim.controllers),
            "spaces": {a: _spaces(sim, a) for a in sim.env.agents}}


def _spaces(sim: Simulation, agent: str) -> dict:
    """A slot's Gymnasium spaces: ``{"observation": {"shape": [d]}, "action": {"type":
    "Discrete", "n": k} or {"type": "MultiDiscrete", "nvec": [...]}}``."""
    space = sim.env.action_space(agent)
    action = ({"type": "MultiDiscrete", "nvec": [int(n) for n in space.nvec]}
              if hasattr(space, "nvec") else {"type": "Discrete", "n": int(space.n)})
    return {"observation": {"shape": list(sim.env.observation_space(agent).shape)},
            "action": action}


def create_app(db: str | Path | None = None, *, jobs: str | Path = "jobs",
               models: str | Path | None = None, token: str | None = None,
               max_body: int = MAX_BODY, restore: bool = True) -> FastAPI:
    """The service; ``db``: the run store file (``None``: keep nothing), ``jobs``: the
    jobs' root directory, ``models``: the directory checkpoint controllers load from,
    ``token``: required bearer token, ``restore``: bring back the store's simulations."""
    store = RunStore(db) if db is not None else None
    sessions = Sessions(store, models=None if models is None else Path(models))
    if restore:
        sessions.restore()
    runner = Jobs(jobs, store)
    app = FastAPI(title="quantmarl", description="Live markets, agents, events and analysis.")
    app.state.sessions, app.state.jobs = sessions, runner
    install_handlers(app)
    _routes(app, sessions)
    job_routes(app, runner)
    web_routes(app)
    app.add_middleware(Guard, token=token, max_body=max_body, public=PUBLIC)
    app.router.add_event_handler("shutdown", runner.shutdown)
    if store is not None:
        app.router.add_event_handler("shutdown", store.close)
    return app


def _routes(app: FastAPI, sessions: Sessions) -> None:  # noqa: C901 (one route each)
    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "schema_version": SCHEMA_VERSION,
                "simulations": len(sessions.all())}

    @app.post("/simulations", status_code=201)
    def create(body: SimulationCreate) -> dict:
        config = config_mapping(body.config, body.config_yaml)
        return _summary(sessions.create(config, body.preset, body.seed, body.remote_timeout))

    @app.get("/simulations")
    def list_all() -> list[dict]:
        return [_summary(s) for s in sessions.all()]

    @app.get("/simulations/{sim_id}")
    def get(sim_id: str, depth: int = Query(5, ge=1, le=100),
            window: int = Query(100, ge=1, le=100_000)) -> dict:
        sim = sessions.get(sim_id)
        with sim.lock:
            return views.market_state(sim, depth, window)

    @app.post("/simulations/{sim_id}/step")
    def step(sim_id: str, body: StepRequest) -> dict:
        return sessions.get(sim_id).step(body.steps)

    @app.post("/simulations/{sim_id}/reset")
    def reset(sim_id: str) -> dict:
        sim = sessions.get(sim_id)
        sim.reset()
        return _summary(sim)

    @app.delete("/simulations/{sim_id}", status_code=204)
    def delete(sim_id: str, purge: bool = False) -> None:
        sessions.delete(sim_id, purge)

    @app.get("/simulations/{sim_id}/stream")
    async def stream(sim_id: str, request: Request, after: int = Query(0, ge=0),
                     limit: int | None = Query(None, ge=1)) -> StreamingResponse:
        sim = sessions.get(sim_id)
        return StreamingResponse(_events(sim, request, after, limit),
                                 media_type="text/event-stream")

    @app.get("/simulations/{sim_id}/agents")
    def agents(sim_id: str, tier: str | None = Query(None, pattern="^(smart|reactive|"
                                                           "background)$"),
               offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=10_000)) -> dict:
        sim = sessions.get(sim_id)
        with sim.lock:
            return views.accounts(sim, tier, offset, limit)

    @app.post("/simulations/{sim_id}/agents", status_code=201)
    def add_agent(sim_id: str, body: AgentCreate) -> dict:
        sim = sessions.get(sim_id)
        agent = body.agent or _free_slot(sim)
        sim.check_agent(agent)
        group = sim.group_of[agent]
        policy = None
        if body.controller == "checkpoint":
            path = models.resolve_checkpoint(sessions.models, body.checkpoint or "")
            spec = next(g for g in sim.env.config.groups if g.name == group)
            policy = models.slot_policy(path, spec, body.checkpoint_seed)
        elif body.checkpoint is not None:
            raise SimulationError("checkpoint", "checkpoint is for the checkpoint controller")
        sim.bind(agent, body.controller, policy)
        return {"agent": agent, "controller": body.controller, "group": group,
                "spaces": _spaces(sim, agent)}

    @app.delete("/simulations/{sim_id}/agents/{agent}")
    def remove_agent(sim_id: str, agent: str) -> dict:
        return sessions.get(sim_id).remove(agent)

    @app.post("/simulations/{sim_id}/agents/{agent}/action")
    def submit(sim_id: str, agent: str, body: ActionRequest) -> dict:
        coming = sessions.get(sim_id).submit(agent, body.action)
        return {"agent": agent, "action": body.action, "for_step": coming}

    @app.get("/simulations/{sim_id}/agents/{agent}/observation")
    def observe(sim_id: str, agent: str, after: int | None = Query(None, ge=-1),
                timeout: float = Query(0.0, ge=0.0, le=60.0)) -> dict:
        return sessions.get(sim_id).observe(agent, after, timeout)

    @app.post("/simulations/{sim_id}/events", status_code=201)
    def add_event(sim_id: str, body: EventCreate) -> dict:
        return controls.inject_event(sessions.get(sim_id), body.kind, body.magnitude,
                                     body.duration, body.start, body.asset)

    @app.put("/simulations/{sim_id}/breaker")
    def breaker(sim_id: str, body: BreakerConfig) -> dict:
        return controls.set_breaker(sessions.get(sim_id), **body.model_dump())

    @app.get("/simulations/{sim_id}/performance")
    def performance(sim_id: str, window: int | None = WINDOW) -> dict:
        sim = sessions.get(sim_id)
        with sim.lock:
            return views.performance(sim, window)

    @app.get("/simulations/{sim_id}/facts")
    def facts(sim_id: str, window: int | None = WINDOW,
              asset: int = Query(0, ge=0)) -> dict:
        sim = sessions.get(sim_id)
        with sim.lock:
            return compare_facts(sim, window, asset)

    @app.get("/simulations/{sim_id}/analysis")
    def analysis(sim_id: str, window: int | None = WINDOW) -> dict:
        sim = sessions.get(sim_id)
        with sim.lock:
            return views.analysis(sim, window)


async def _events(sim: Simulation, request: Request, after: int, limit: int | None):
    """Server-sent events: each kept step past ``after`` (a new episode starts again from
    its first step), as ``event: step`` with a JSON :func:`views.step_record`."""
    sent, episode = 0, sim.episode
    while limit is None or sent < limit:
        with sim.lock:
            if sim.episode != episode:
                episode, after = sim.episode, 0
            new = [views.step_record(sim, e) for e in sim.records if e[0] > after]
        for record in new[: None if limit is None else limit - sent]:
            yield f"event: step\ndata: {json.dumps(record)}\n\n"
            after, sent = record["step"], sent + 1
        if not new:
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL)


def _free_slot(sim: Simulation) -> str:
    free = [a for a, c in sim.controllers.items() if c == "hold"]
    if not free:
        raise SimulationError("agent", "every smart-tier slot is taken; remove one or create "
                              "the simulation with more (config.agents_per_type)", status=409)
    return free[0]

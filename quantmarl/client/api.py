"""A Python client for the research service (httpx).

``client = Client("http://127.0.0.1:8000")``; every method is one request and
returns the decoded JSON. Errors raise :class:`ServiceError` carrying the HTTP
status, the message and the request field the service named.
"""

from __future__ import annotations

from typing import Any

import httpx


class ServiceError(RuntimeError):
    """An error response: ``status`` (HTTP), ``field`` (the request field at fault)."""

    def __init__(self, status: int, message: str, field: str | None):
        super().__init__(f"{status}: {message}")
        self.status, self.field = status, field


class Client:
    """The service's API as methods (``token``: the server's bearer token, if it has one)."""

    def __init__(self, url: str = "http://127.0.0.1:8000", token: str | None = None,
                 timeout: float = 300.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        r = self._http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"error": r.text, "field": None}
            raise ServiceError(r.status_code, body.get("error", r.text), body.get("field"))
        return None if r.status_code == 204 else r.json()

    # ----- simulations -----
    def health(self) -> dict:
        return self._call("GET", "/health")

    def create(self, config: dict | None = None, preset: str = "smoke", seed: int = 0,
               remote_timeout: float | None = None) -> dict:
        body: dict[str, Any] = {"config": config or {}, "preset": preset, "seed": seed}
        if remote_timeout is not None:
            body["remote_timeout"] = remote_timeout
        return self._call("POST", "/simulations", json=body)

    def simulations(self) -> list[dict]:
        return self._call("GET", "/simulations")

    def state(self, sim_id: str, depth: int = 5, window: int = 100) -> dict:
        return self._call("GET", f"/simulations/{sim_id}",
                          params={"depth": depth, "window": window})

    def step(self, sim_id: str, steps: int = 1) -> dict:
        return self._call("POST", f"/simulations/{sim_id}/step", json={"steps": steps})

    def reset(self, sim_id: str) -> dict:
        return self._call("POST", f"/simulations/{sim_id}/reset")

    def delete(self, sim_id: str, purge: bool = False) -> None:
        self._call("DELETE", f"/simulations/{sim_id}", params={"purge": purge})

    # ----- agents -----
    def agents(self, sim_id: str, tier: str | None = None, offset: int = 0,
               limit: int = 100) -> dict:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if tier:
            params["tier"] = tier
        return self._call("GET", f"/simulations/{sim_id}/agents", params=params)

    def add_agent(self, sim_id: str, controller: str = "scripted",
                  agent: str | None = None) -> dict:
        return self._call("POST", f"/simulations/{sim_id}/agents",
                          json={"agent": agent, "controller": controller})

    def remove_agent(self, sim_id: str, agent: str) -> dict:
        return self._call("DELETE", f"/simulations/{sim_id}/agents/{agent}")

    def act(self, sim_id: str, agent: str, action: list[int]) -> dict:
        return self._call("POST", f"/simulations/{sim_id}/agents/{agent}/action",
                          json={"action": [int(a) for a in action]})

    def observe(self, sim_id: str, agent: str, after: int | None = None,
                timeout: float = 0.0) -> dict:
        params: dict[str, Any] = {"timeout": timeout}
        if after is not None:
            params["after"] = after
        return self._call("GET", f"/simulations/{sim_id}/agents/{agent}/observation",
                          params=params)

    # ----- events, analysis -----
    def inject(self, sim_id: str, kind: str, magnitude: float, duration: int = 1,
               start: int | None = None, asset: int = -1) -> dict:
        return self._call("POST", f"/simulations/{sim_id}/events",
                          json={"kind": kind, "magnitude": magnitude, "duration": duration,
                                "start": start, "asset": asset})

    def breaker(self, sim_id: str, **rules: Any) -> dict:
        return self._call("PUT", f"/simulations/{sim_id}/breaker", json=rules)

    def performance(self, sim_id: str, window: int | None = None) -> dict:
        params = {"window": window} if window else {}
        return self._call("GET", f"/simulations/{sim_id}/performance", params=params)

    def analysis(self, sim_id: str, window: int | None = None) -> dict:
        params = {"window": window} if window else {}
        return self._call("GET", f"/simulations/{sim_id}/analysis", params=params)

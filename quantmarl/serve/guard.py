"""The service's guards: error bodies that name the field (never a stack trace), a
request-body size limit and an optional bearer token.

Every error response is JSON ``{"error": message, "field": name}`` (422 for invalid
input, 404 for an unknown simulation or slot, 409 for a conflict, 401 without the
token, 413 for an oversized body, 500 "internal error" for anything unexpected,
logged on the server only).
"""

from __future__ import annotations

import hmac
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from quantmarl.serve.simulation import SimulationError

log = logging.getLogger("quantmarl.serve")
MAX_BODY = 1 << 20  # bytes per request body


def error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def _field(loc: tuple) -> str:
    """``("body", "config", "seed")`` -> ``"config.seed"`` (the request's own names)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = _field(tuple(first.get("loc", ())))
        return error(422, f"{field}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(SimulationError)
    async def refused(_: Request, exc: SimulationError) -> JSONResponse:
        return error(exc.status, str(exc), exc.field)

    @app.exception_handler(HTTPException)
    async def http(_: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal error")


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: refuses bodies over ``max_body`` bytes (413) and, when ``token``
    is set, any request without ``Authorization: Bearer TOKEN`` (401), except GETs of the
    ``public`` paths (a path equal to one, or under one ending in ``/``)."""

    def __init__(self, app, token: str | None = None, max_body: int = MAX_BODY,
                 public: tuple[str, ...] = ()):
        self.app, self.token, self.max_body, self.public = app, token, max_body, public

    def _public(self, scope) -> bool:
        path = scope.get("path", "")
        return scope.get("method") == "GET" and any(
            path == p or (p.endswith("/") and p != "/" and path.startswith(p))
            for p in self.public)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.token is not None and not self._public(scope):
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given, f"Bearer {self.token}"):
                if scope["type"] == "http":
                    return await error(401, "missing or wrong bearer token",
                                       "authorization")(scope, receive, send)
                return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return await self._too_large(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope, receive, send):
        await error(413, f"request body over {self.max_body} bytes", "body")(scope, receive,
                                                                              send)

"""The outermost ASGI layer: per request, a Prometheus observation and one JSON access-log line.

The line (to stdout, written straight: the logging module's record, caller lookup and handler
lock would cost more than the rest of the line) has the request id, the organization (the API
key's, once the request authenticated it; the signed-in member's on the web app's pages), the
route template, method, status, duration and client address. Never the path's query, a header
or a body: that is where keys, passwords, session cookies and secrets travel.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

import orjson
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetron.api.requests import api_key_in
from telemetron.observability.metrics import observe_request
from telemetron.orgs.apikeys import recent_organization

EXT_V1_PREFIX = "/api/ext-v1/"
UNMATCHED = "unmatched"  # a path no route serves: one series, not one per path a scanner tries


class _AccessLog:
    """Where the lines go: stdout, or nowhere."""

    stream: TextIO | None = None

    def write(self, line: bytes) -> None:
        assert self.stream is not None
        # One write of the whole line: under several server processes, lines never interleave.
        try:
            self.stream.write(line.decode() + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stdout closed or gone: the request was answered all the same
            pass


access_log = _AccessLog()


def configure_access_log(enabled: bool) -> None:
    """One line per request to stdout, on by default; ``TELEMETRON_ACCESS_LOG=false`` turns it off."""
    access_log.stream = sys.stdout if enabled else None


class ObservedApp:
    def __init__(self, app: ASGIApp, fixed_routes: set[str],
                 leaves_status: Callable[[Scope], object] = lambda _scope: False) -> None:
        self.app = app
        self._fixed_routes = fixed_routes  # FastLane's ext-v1 paths, which no router marks
        # True for the requests whose status ``app`` leaves in the scope's state itself (FastLane's):
        # those are served without a wrapper around each message sent.
        self._leaves_status = leaves_status
        self._templates: dict | None = None  # endpoint -> route template, from the app's routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})  # shared with copies made below, so the request id comes back
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        direct = self._leaves_status(scope)
        try:
            await self.app(scope, receive, send if direct else send_status)
        finally:
            if direct:
                status = state.get("status", 500)
            seconds = time.perf_counter() - started
            route = self._route(scope)
            observe_request(scope["method"], route, status, seconds)
            if access_log.stream is not None:
                _log(scope, route, status, seconds)

    def _route(self, scope: Scope) -> str:
        """The template of the route that answered: routers leave its endpoint in the scope (FastAPI's
        does not always leave the route itself); FastLane's calls are known by their fixed path."""
        endpoint = scope.get("endpoint")
        if endpoint is not None:
            if self._templates is None:
                self._templates = _templates(scope["app"].routes)
            template = self._templates.get(endpoint)
            if template is not None:
                return template
        path = scope["path"]
        trimmed = path.rstrip("/") or path
        return trimmed if trimmed in self._fixed_routes else UNMATCHED


def _templates(routes) -> dict:
    templates = {}
    for route in routes:
        if isinstance(route, Mount):  # a Mount serves everything under its path
            templates[route.app] = f"{route.path}/{{path}}"
        elif getattr(route, "endpoint", None) is not None:
            templates.setdefault(route.endpoint, route.path)
    return templates


def _log(scope: Scope, route: str, status: int, seconds: float) -> None:
    state = scope["state"]
    organization = state.get("organization_id")
    if organization is None and status != 401 and scope["path"].startswith(EXT_V1_PREFIX):
        # The key's organization, as this request's authentication just recorded it.
        organization = recent_organization(api_key_in(scope))
    client = scope.get("client")
    access_log.write(orjson.dumps({
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": state.get("request_id"),
        "organization_id": organization,
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": client[0] if client else None,
    }))

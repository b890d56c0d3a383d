"""How ext-v1 endpoints are mounted: plain Starlette routes, documented from the same declaration.

FastAPI's own route machinery (dependency solving, response models) measured ~45 µs per request
here, a tenth of createTicket's whole budget, and these handlers need none of it: they read the
raw request (to check the key before validating and to name unknown fields) and return bytes.
So each endpoint is declared once, as an ``Operation``: it is served by a Starlette ``Route`` and
written into ``/openapi.json`` by ``document``. ``FastLane`` goes one step further for the
operations with a fixed path (createTicket among them): they skip FastAPI's middleware stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetron.api.middleware import answer_unhandled, request_id_for
from telemetron.errors import AppError
from telemetron.ratelimit.middleware import refuse, verdict_for

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    openapi: dict[str, Any] = field(default_factory=dict)

    def route(self) -> Route:
        return Route(self.path, self.endpoint, methods=[self.method])


class OperationRegistry:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def post(
        self, path: str, *, summary: str, tag: str, openapi: dict[str, Any]
    ) -> Callable[[Endpoint], Endpoint]:
        return self._add("POST", path, summary=summary, tag=tag, openapi=openapi)

    def get(
        self, path: str, *, summary: str, tag: str, openapi: dict[str, Any]
    ) -> Callable[[Endpoint], Endpoint]:
        return self._add("GET", path, summary=summary, tag=tag, openapi=openapi)

    def _add(self, method: str, path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.operations.append(Operation(method, path, endpoint, **kwargs))
            return endpoint

        return register

    def routes(self) -> list[Route]:
        return [op.route() for op in self.operations]

    def document(self, schema: dict[str, Any]) -> None:
        paths = schema.setdefault("paths", {})
        for op in self.operations:
            operation = {
                "tags": [op.tag],
                "summary": op.summary,
                "operationId": op.endpoint.__name__,
                **op.openapi,
            }
            paths.setdefault(op.path.replace(":str", ""), {})[op.method.lower()] = operation


EXT_V1_PREFIX = "/api/ext-v1/"


class FastLane:
    """The ASGI entry: ext-v1 operations with a fixed path go straight to their endpoint, the rest
    to the FastAPI app.

    FastAPI puts six layers between the server and a route (server errors, telemetry, body limit,
    user middleware, exceptions, exit stack), each wrapping the request and every message sent:
    ~7% of createTicket's CPU in-process (bench/README.md). What those layers do for an ext-v1
    endpoint is kept, in one step (``_serve``): the request id and a logged 500 without a stack
    trace in the body (``api.middleware``), the rate limit (``ratelimit.middleware``), an
    ``AppError`` answered with its JSON body by ``app_error``. A method the path does not serve, or
    any other path, takes the usual way (405, 404, pages, docs).
    """

    def __init__(self, app: ASGIApp, registry: OperationRegistry,
                 app_error: Callable[[Request, AppError], Awaitable[Response]]) -> None:
        self.app = app
        self._endpoints = {(op.method, op.path): op.endpoint for op in registry.operations if "{" not in op.path}
        self._paths = {path for _, path in self._endpoints}
        self._app_error = app_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = self._without_slash(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
            if (scope["method"], path) in self._endpoints:
                await self._serve(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def fixed_path(self, scope: Scope) -> str | None:
        """The fixed-path operation's path when this lane serves the request, else None."""
        if scope["type"] != "http":
            return None
        path = self._without_slash(scope["path"])
        return path if (scope["method"], path) in self._endpoints else None

    def _without_slash(self, path: str) -> str:
        if path.endswith("/") and path not in self._paths and path.startswith(EXT_V1_PREFIX):
            # ``.../createTicket/`` is the same call: answered, not redirected (a 307 with an
            # empty body, which a client that does not follow redirects takes for an answer). A
            # path declared with its slash keeps it: the app would redirect it back here.
            return path.rstrip("/")
        return path

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The call's own response, with the request id and rate limit headers added to it rather
        than by a layer wrapping every message sent; its status left in the scope's state for
        ``ObservedApp``."""
        request_id = request_id_for(scope)
        headers = [(b"x-request-id", request_id.encode())]
        started = False
        try:
            verdict = await verdict_for(scope)
            if verdict is not None:
                if not verdict.allowed:
                    scope["state"]["status"] = 429
                    await refuse(send, verdict, headers)
                    return
                headers = [*verdict.headers, *headers]
            response = await self._response(Request(scope, receive, send))
            response.raw_headers.extend(headers)
            scope["state"]["status"] = response.status_code
            started = True
            await response(scope, receive, send)
        except Exception:
            scope["state"]["status"] = 500
            await answer_unhandled(scope, send, request_id, started=started, headers=headers)

    async def _response(self, request: Request) -> Response:
        try:
            return await self._endpoints[(request.scope["method"], request.scope["path"])](request)
        except AppError as error:
            return await self._app_error(request, error)


ext_v1 = OperationRegistry()

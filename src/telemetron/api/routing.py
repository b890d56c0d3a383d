"""How ext-v1 endpoints are mounted: plain Starlette routes, documented from the same declaration.

FastAPI's own route machinery (dependency solving, response models) measured ~45 µs per request
here, a tenth of createTicket's whole budget, and these handlers need none of it: they read the
raw request (to check the key before validating and to name unknown fields) and return bytes.
So each endpoint is declared once, as an ``Operation``: it is served by a Starlette ``Route`` and
written into ``/openapi.json`` by ``document``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


ext_v1 = OperationRegistry()

"""Request ids, and the last line of defence against a stack trace reaching a client.

Every response carries ``X-Request-ID`` (the client's own, when it sent a sane one). An exception
that no handler turned into a 4xx is logged with its traceback under that id, and the client gets
``{"error": "Internal server error", "code": "internal_error", "requestId": ...}`` and nothing more.
A pure ASGI middleware: Starlette's BaseHTTPMiddleware costs tens of microseconds per request.
"""

from __future__ import annotations

import logging
import re

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetron import ids

logger = logging.getLogger("telemetron.api")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")



def request_id_for(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a new one; kept in the scope's state."""
    request_id = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(candidate):
                request_id = candidate
            break
    if request_id is None:
        request_id = ids.request_id()
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


async def answer_unhandled(scope: Scope, send: Send, request_id: str, *, started: bool,
                           headers: list[tuple[bytes, bytes]]) -> None:
    """Log the exception being handled with its traceback; the client gets a bare 500 with the
    request id (or, when its response had started, a cut connection: the exception goes on)."""
    logger.exception("unhandled error request_id=%s method=%s path=%s",
                     request_id, scope.get("method"), scope.get("path"))
    if started:
        raise  # the exception being handled: this is called from an except block
    body = orjson.dumps({"error": "Internal server error", "code": "internal_error", "requestId": request_id})
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            await answer_unhandled(scope, send_with_id, request_id, started=response_started, headers=[])

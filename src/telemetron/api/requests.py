"""Reading what a client sent: its API key and a size-limited JSON body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Scope

from telemetron.errors import InvalidRequest, PayloadTooLarge


def api_key_of(request: Request) -> str | None:
    """``x-api-key``, or ``Authorization: Bearer <key>`` as some Telemetron clients send it."""
    return api_key_in(request.scope)


def api_key_in(scope: Scope) -> str | None:
    """``api_key_of`` read from the ASGI scope's headers (lower-cased names, latin-1 values, the
    first of each as Starlette reads them) without building a Request: the limiter's hot path."""
    key = auth = None
    for name, value in scope["headers"]:
        if name == b"x-api-key" and key is None:
            key = value.decode("latin-1")
        elif name == b"authorization" and auth is None:
            auth = value.decode("latin-1")
    if key:
        return key.strip()
    if auth:
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return None


async def read_json(request: Request, *, limit: int) -> Any:
    """The decoded body; 413 past ``limit`` bytes (checked before and while reading), 400 if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"Request body is {int(declared)} bytes; the limit is {limit} bytes", code="body_too_large"
        )
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes", code="body_too_large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest("Invalid JSON payload: the request body is empty", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Invalid JSON payload: {_reason(raw, exc, request)}", code="invalid_json") from None
    if b"\\u0000" in raw:  # cheap test first: a NUL can only arrive escaped
        path = _path_of_nul(body)
        if path is not None:
            # PostgreSQL text cannot hold NUL; refuse it the same way on every database.
            raise InvalidRequest(
                f"{path or 'The body'} must not contain the NUL character (\\u0000)",
                field=path or None,
                code="invalid_character",
            )
    return body


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _reason(raw: bytes, exc: orjson.JSONDecodeError, request: Request) -> str:
    """orjson's reason, except where it misleads: for a body in another encoding it speaks of
    surrogates the client never sent, and for a form (``curl -d a=b``) of an "invalid literal"."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORMS:
        return (f"the API takes JSON, and this body is a form ({content_type}); send a JSON object "
                "with Content-Type: application/json (curl: --json '{...}')")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (f"the body is not UTF-8 (byte {bad.start} is 0x{raw[bad.start]:02x}); "
                "JSON must be sent as UTF-8")
    return str(exc)


def _path_of_nul(body: Any) -> str | None:
    """The path (``messages[2].content``) of the first string holding a NUL, or None.

    Iterative: a body may nest ~1,000 levels deep (orjson's limit), past Python's recursion limit.
    """
    stack: list[tuple[Any, str]] = [(body, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            stack.extend(reversed([(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(item, f"{path}[{index}]") for index, item in enumerate(value)]))
    return None

"""Errors that carry their HTTP status, a stable machine-readable code, and a message for people.

Services raise these; the API renders them as the ext-v1 specification's error body
``{"error": message, "code": code, "field": field?}``. Anything else that escapes is a bug and
becomes a 500 whose cause is logged under the request id (see ``telemetron.api.middleware``).
"""

from __future__ import annotations

from typing import Any

import orjson


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        # Extra members of the error body, e.g. the id of the existing customer on a 409.
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


# One class per HTTP status the API answers with; ``code`` is the default the raiser usually overrides.
class InvalidRequest(AppError, status=400, code="invalid_request"): ...
class Unauthorized(AppError, status=401, code="unauthorized"): ...
class NotFound(AppError, status=404, code="not_found"): ...
class Conflict(AppError, status=409, code="conflict"): ...
class PayloadTooLarge(AppError, status=413, code="payload_too_large"): ...
class Unprocessable(AppError, status=422, code="unprocessable"): ...  # well formed, but not usable now


def json_type(value: Any) -> str:
    """How a client would name the JSON type of ``value``: "a string", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def shown(value: Any, limit: int = 60) -> str:
    """A client's value as an error message quotes it: a string in single quotes, anything else
    as the JSON it came as (``null``, ``true``, ``{"a":1}``, not Python's ``None``), cut short."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = orjson.dumps(value).decode()
        except (TypeError, orjson.JSONEncodeError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Turning a decoded JSON body into a validated request, or into one clear 400.

Shared by the customer, device and device-assignment endpoints. Validation is Pydantic's, strict
(a number is not a string, ``"true"`` is not a boolean), unknown fields are ignored, and the
first error is rewritten into the API's error body by ``telemetron.validation``.

Two things PostgreSQL would otherwise turn into a 500 are refused here, on every database alike:
NUL characters in strings (PostgreSQL text cannot hold U+0000) and strings longer than their
column. JSON objects (device properties, metadata) are stored as JSON text, where a NUL is the
escape ``\\u0000`` and harmless, but their nesting depth is bounded (``MAX_JSON_DEPTH``) so
that serializing them can never exhaust the interpreter's stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from telemetron.errors import InvalidRequest, json_type
from telemetron.validation import Messages, invalid_request

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 32


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


def _bounded_depth(value: dict[str, Any]) -> dict[str, Any]:
    if json_depth(value) > MAX_JSON_DEPTH:
        raise PydanticCustomError("too_deep", "nested too deeply")
    return value


# A JSON string that can be stored in a text column on every database.
Text = Annotated[str, AfterValidator(_no_nul)]
# A JSON object stored whole in a JSON column.
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_depth)]


def json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (a scalar is 0, ``{}`` is 1), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:  # deep enough to refuse; no need to walk the rest
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_body(
    model: type[M],
    body: Any,
    *,
    messages: Messages | None = None,
    prefix: str = "",
) -> M:
    """Validate a decoded JSON body against ``model``; raise one 400 naming the first problem.

    ``messages`` overrides the message and code of an error, keyed by (field, Pydantic error
    type), e.g. ``{("email", "missing"): ("Email is required", "missing_field")}``.
    ``prefix`` is put before every message (bulk-metadata's errors start "Invalid JSON payload: ").
    """
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"{prefix}Request body must be a JSON object, got {json_type(body)}", code="invalid_body"
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_request(exc, messages=messages, null_is_missing=True, prefix=prefix,
                              max_depth=MAX_JSON_DEPTH) from None


def trimmed(value: str | None) -> str | None:
    """``value`` without surrounding whitespace; None for a missing or blank value."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def require_text(value: str, *, field: str, max_length: int | None = None) -> str:
    """A trimmed, non-blank string of at most ``max_length`` characters, or a 400 naming ``field``."""
    value = value.strip()
    if not value:
        raise InvalidRequest(f"{field} must not be empty", field=field, code="empty_field")
    if max_length is not None and len(value) > max_length:
        raise InvalidRequest(
            f"{field} must be at most {max_length} characters (got {len(value)})",
            field=field,
            code="field_too_long",
        )
    return value

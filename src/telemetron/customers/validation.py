"""Turning a decoded JSON body into a validated request, or into one clear 400.

Shared by the customer, device and device-assignment endpoints. Validation is Pydantic's, strict
(a number is not a string, ``"true"`` is not a boolean), unknown fields are ignored, and the
first error is rewritten into Telemetron's error body: a message that names the field and says
what would be right, a stable ``code`` and the ``field``.

Two things PostgreSQL would otherwise turn into a 500 are refused here, on every database alike:
NUL characters in strings (PostgreSQL text cannot hold U+0000) and strings longer than their
column. JSON objects (device properties, metadata) are stored as JSON text, where a NUL is the
escape ``\\u0000`` and harmless, but their nesting depth is bounded (``MAX_JSON_DEPTH``) so
that serializing them can never exhaust the interpreter's stack.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from telemetron.errors import InvalidRequest, json_type

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 32

_TYPE_NAMES = {
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "bool_type": "a boolean",
}


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


def field_path(loc: tuple[Any, ...]) -> str:
    """``("customerEmails", 2)`` -> ``customerEmails[2]``; ``("devices", "a")`` -> ``devices.a``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _kind(error: dict[str, Any]) -> str:
    """Pydantic's error type, except that null sent for a required value counts as missing."""
    if error["type"] in _TYPE_NAMES and error.get("input", ...) is None:
        return "missing"
    return error["type"]


def _message_for(error: dict[str, Any], field: str) -> tuple[str, str]:
    """(message, code) for one Pydantic error."""
    kind = _kind(error)
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"{field} is required", "missing_field"
    if kind in _TYPE_NAMES:
        return f"{field} must be {_TYPE_NAMES[kind]}, got {json_type(error['input'])}", "invalid_type"
    if kind == "string_too_long" or (kind == "too_long" and isinstance(error["input"], str)):
        return (
            f"{field} must be at most {ctx.get('max_length')} characters (got {len(error['input'])})",
            "field_too_long",
        )
    if kind == "too_short":
        return f"{field} must not be empty", "empty_field"
    if kind == "too_long":
        return (
            f"{field} may hold at most {ctx.get('max_length')} items (got {ctx.get('actual_length')})",
            "too_many_items",
        )
    if kind == "nul_character":
        return f"{field} must not contain NUL (U+0000) characters", "invalid_character"
    if kind == "too_deep":
        return f"{field} is nested too deeply (at most {MAX_JSON_DEPTH} levels of objects and arrays)", "too_deep"
    return f"{field}: {error['msg']}", "invalid_value"


def parse_body(
    model: type[M],
    body: Any,
    *,
    messages: dict[tuple[str, str], tuple[str, str]] | None = None,
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
        first = exc.errors(include_url=False)[0]
        field = field_path(first["loc"])
        message, code = (messages or {}).get((field, _kind(first))) or _message_for(first, field)
        raise InvalidRequest(prefix + message, field=field or None, code=code) from None


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

"""The one translator of Pydantic validation errors into the API's 400: a message that names the
field and says what would be right, a stable ``code``, and the ``field``.

Each request's parser may first say something more precise about its own fields (createTicket
names a misspelt field, a priority lists its choices) and falls back to ``message_for``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import GetJsonSchemaHandler, Strict, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails

from telemetron.enums import MessageRole, Priority, Status
from telemetron.errors import InvalidRequest, json_type

# The shared vocabularies as request fields: the JSON string is taken as the enum's value (requests
# are validated strictly otherwise), and a wrong one is an "enum" error listing the choices.
StatusField = Annotated[Status, Strict(False)]
PriorityField = Annotated[Priority, Strict(False)]
MessageRoleField = Annotated[MessageRole, Strict(False)]
CHOICE_ERRORS = frozenset({"enum", "literal_error"})

# JSON Schema patterns (ECMA-262) of what the parsers enforce themselves. Whitespace is what
# Python's str.strip() removes, spelt out: each regex engine has its own \\s.
_SPACE = "\\t-\\r\\u001c- \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_SPACE}][^\\u0000]*$"
BLANK = f"^[{_SPACE}]*$"
# An email address as the syntax check (email_validator) takes it: no special-use domain (.test...).
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
EMAIL: dict[str, Any] = {
    "format": "email",
    "not": {"pattern": "[@.](" + "|".join("".join(f"[{c.upper()}{c}]" for c in name) for name in _SPECIAL_USE) + ")$"},
}


class Documented:
    """JSON Schema keywords for a value whose rule its parser checks itself (not blank, an email),
    so that the OpenAPI document says what the server accepts: ``Annotated[str, Documented(...)]``."""

    __slots__ = ("keywords",)

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        handler.resolve_ref_schema(schema).update(self.keywords)
        return schema


# A string that must hold more than whitespace; an email address (the parser trims and checks it).
NonBlank = Annotated[str, Documented(pattern=NOT_BLANK)]
Email = Annotated[str, Documented(**EMAIL)]

TYPE_NAMES = {
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "bool_type": "a boolean",
}
# Overrides keyed by (field, kind) -> (message, code).
Messages = dict[tuple[str, str], tuple[str, str]]
# A parser's own wording for an error, or None to use the common one.
Special = Callable[[ErrorDetails, str], tuple[str, str] | None]


def field_path(loc: tuple[Any, ...]) -> str:
    """``("customerEmails", 2)`` -> ``customerEmails[2]``; ``("devices", "a")`` -> ``devices.a``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def error_kind(error: ErrorDetails, *, null_is_missing: bool = False) -> str:
    """Pydantic's error type; with ``null_is_missing``, null sent for a required value is "missing"."""
    if null_is_missing and error["type"] in TYPE_NAMES and error.get("input", ...) is None:
        return "missing"
    return error["type"]


def message_for(error: ErrorDetails, field: str, kind: str, *, max_depth: int | None = None) -> tuple[str, str]:
    """(message, code) for one Pydantic error of ``kind`` about ``field``."""
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"{field} is required", "missing_field"
    if kind in TYPE_NAMES:
        return f"{field} must be {TYPE_NAMES[kind]}, got {json_type(error['input'])}", "invalid_type"
    if kind == "string_too_long" or (kind == "too_long" and isinstance(error["input"], str)):
        return f"{field} must be at most {ctx.get('max_length')} characters (got {len(error['input'])})", "field_too_long"
    if kind in ("too_short", "string_too_short", "value_error"):
        return f"{field} must not be empty", "empty_field"
    if kind == "too_long":
        return f"{field} may hold at most {ctx.get('max_length')} items (got {ctx.get('actual_length')})", "too_many_items"
    if kind == "nul_character":
        return f"{field} must not contain NUL (U+0000) characters", "invalid_character"
    if kind == "too_deep":
        return f"{field} is nested too deeply (at most {max_depth} levels of objects and arrays)", "too_deep"
    return f"{field}: {error['msg']}", "invalid_value"


def invalid_request(
    exc: ValidationError, *, special: Special | None = None, messages: Messages | None = None,
    null_is_missing: bool = False, prefix: str = "", max_depth: int | None = None,
) -> InvalidRequest:
    """The 400 for the first error of ``exc``."""
    first = exc.errors(include_url=False)[0]
    field = field_path(first["loc"])
    kind = error_kind(first, null_is_missing=null_is_missing)
    message, code = (
        (messages or {}).get((field, kind))
        or (special(first, field) if special is not None else None)
        or message_for(first, field, kind, max_depth=max_depth)
    )
    return InvalidRequest(prefix + message, field=field or None, code=code)

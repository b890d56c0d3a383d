"""The createTicket request and response, as the user's document defines them.

Validation is Pydantic's (strict: a number is not a string), but its errors are rewritten into
messages that say which field is wrong and what would be right (``telemetron.validation``).
Unknown fields are accepted (clients of the ext-v1 specification may send more) and named back
as warnings.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from telemetron.enums import MESSAGE_ROLES, PRIORITIES, Priority, Status
from telemetron.errors import InvalidRequest, json_type, shown
from telemetron.validation import (
    BLANK,
    CHOICE_ERRORS,
    EMAIL,
    NOT_BLANK,
    TYPE_NAMES,
    Documented,
    MessageRoleField,
    NonBlank,
    PriorityField,
    invalid_request,
)

__all__ = ["PRIORITIES"]  # re-exported: the web app's filters import it from here
MAX_TITLE = 255
# Defaults; the app passes the configured limits in the validation context.
MAX_TEXT = 64 * 1024  # bytes of UTF-8


def utf8_size_over(text: str, limit: int) -> int | None:
    """``text``'s size in bytes of UTF-8 when it is over ``limit`` bytes, else None.

    Limits are in bytes (64 KiB), as a client measures what it sends: 65,536 characters of emoji
    are 256 KiB. Encoding is skipped for the usual short text: a text of at most ``limit // 4``
    characters cannot be over (UTF-8 takes at most 4 bytes a character).
    """
    if len(text) <= limit // 4:
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > limit else None
MAX_MESSAGES = 1000


class TicketMessageIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    role: MessageRoleField = Field(description="Who wrote it: customer, agent or bot.")
    content: Annotated[NonBlank, Field(min_length=1, description="The message text (at most 64 KiB of UTF-8).")]

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("blank")
        return value


# Blank counts as not sent; anything else must be an email address.
_EmailOrBlank = Annotated[str, Documented(anyOf=[EMAIL, {"pattern": BLANK}])]


class CreateTicketRequest(BaseModel):
    """Either ``customerEmail`` or ``customerId`` is required."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "anyOf": [
                {"required": ["customerEmail"], "properties": {"customerEmail": {"type": "string", **EMAIL}}},
                {"required": ["customerId"], "properties": {"customerId": {"type": "string", "pattern": NOT_BLANK}}},
            ]
        },
    )

    title: NonBlank = Field(description="Ticket title (max 255 characters).", max_length=MAX_TITLE)
    description: str | None = Field(None, description="Detailed description of the issue or request.")
    priority: PriorityField | None = Field(
        Priority.MEDIUM, description="Ticket priority. One of: low, medium, high, urgent."
    )
    customerEmail: _EmailOrBlank | None = Field(
        None, description="Customer's email address; an unknown one creates the customer."
    )
    customerId: str | None = Field(None, description="Existing customer id (cust_ + 12 hex characters).")
    category: str | None = Field(
        None,
        description="Category name; matched ignoring case. If missing or unmatched the ticket is categorized automatically.",
    )
    messages: list[TicketMessageIn] | None = Field(
        None,
        description="Conversation history. Without a description, the description is generated from it.",
    )

    @field_validator("title", mode="before")
    @classmethod
    def _strip_title(cls, value: Any) -> Any:
        # The title is stored trimmed, so its limit counts what is stored.
        return value.strip() if isinstance(value, str) else value


KNOWN_FIELDS = frozenset(CreateTicketRequest.model_fields)
KNOWN_MESSAGE_FIELDS = frozenset(TicketMessageIn.model_fields)

def special_message(body: Any, known: frozenset[str] | None = None):
    """The ticket endpoints' own wording of an error (``telemetron.validation.Special``): a missing
    field names its probable misspelling, a choice lists the choices, messages says its shape."""

    def special(error: ErrorDetails, field: str) -> tuple[str, str] | None:
        kind = error["type"]
        leaf = error["loc"][-1] if error["loc"] else ""
        if kind == "missing":
            return f"{field} is required{_misspelt(body, error['loc'], known)}", "missing_field"
        if kind in CHOICE_ERRORS:
            choices = {"priority": PRIORITIES, "role": MESSAGE_ROLES}.get(str(leaf))
            if choices is None:
                return f"{field} has an invalid value", "invalid_value"
            what = "priority" if leaf == "priority" else field
            return f"Invalid {what} {shown(error['input'])}. Must be one of: {', '.join(choices)}", f"invalid_{leaf}"
        if kind in TYPE_NAMES and (
            field == "messages" or (field.startswith("messages[") and kind in ("model_type", "dict_type"))
        ):
            return (
                f"{field} must be {TYPE_NAMES[kind]}: messages is an array of "
                '{"role": "customer" | "agent" | "bot", "content": "<text>"} objects',
                "invalid_type",
            )
        return None

    return special


def _misspelt(body: Any, loc: tuple[Any, ...], known: frozenset[str] | None = None) -> str:
    """' (got 'Title': did you mean 'title'?)' when the object that lacks a required field has an
    unknown field that is probably it; else ''. Only the first few unknown fields are guessed at:
    a body of 40,000 made-up fields must not keep the server busy (seconds, in difflib)."""
    parent = body
    for part in loc[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return ""
    if not isinstance(parent, dict) or not loc:
        return ""
    if len(loc) > 1 and loc[0] == "messages":
        known = KNOWN_MESSAGE_FIELDS
    elif known is None:
        known = KNOWN_FIELDS
    wanted = loc[-1]
    unknown = itertools.islice((name for name in parent if name not in known), MAX_GUESSES)
    near = [name for name in unknown if did_you_mean(name, known) == wanted]
    return f" (got '{near[0]}': did you mean '{wanted}'?)" if near else ""


def _unless_blank(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def check_utf8_size(text: str, limit: int, field: str) -> None:
    """A 400 naming ``field`` when ``text`` is over ``limit`` bytes of UTF-8."""
    size = utf8_size_over(text, limit)
    if size is not None:
        raise InvalidRequest(f"{field} must be at most {limit} bytes in UTF-8 (got {size})", field=field,
                             code="field_too_long")


def _check_sizes(request: CreateTicketRequest, *, max_messages: int, max_text: int) -> None:
    if request.description is not None:
        check_utf8_size(request.description, max_text, "description")
    if request.messages is None:
        return
    if len(request.messages) > max_messages:
        raise InvalidRequest(
            f"messages may hold at most {max_messages} messages (got {len(request.messages)})",
            field="messages",
            code="too_many_messages",
        )
    for i, message in enumerate(request.messages):
        check_utf8_size(message.content, max_text, f"messages[{i}].content")


def parse_create_ticket(
    body: Any, *, max_messages: int = MAX_MESSAGES, max_text: int = MAX_TEXT
) -> tuple[CreateTicketRequest, list[str]]:
    """Validate a decoded JSON body. Returns the request and the warnings for unknown fields."""
    if not isinstance(body, dict):
        raise InvalidRequest(f"Request body must be a JSON object, got {json_type(body)}", code="invalid_body")
    try:
        request = CreateTicketRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid_request(exc, special=special_message(body)) from None

    title = request.title.strip()
    if not title:
        raise InvalidRequest("title must not be empty", field="title", code="empty_field")
    _check_sizes(request, max_messages=max_messages, max_text=max_text)
    # Blank optional fields count as not sent; the model itself stays as validated (frozen), and
    # is copied only when something changes (not for the usual request).
    cleaned = {
        "title": title,
        "priority": request.priority or Priority.MEDIUM,
        "description": _unless_blank(request.description),
        "category": _unless_blank(request.category),
        "customerEmail": _unless_blank(request.customerEmail),
        "customerId": _unless_blank(request.customerId),
    }
    changed = {name: value for name, value in cleaned.items() if getattr(request, name) != value}
    if changed:
        request = request.model_copy(update=changed)
    warnings = unknown_field_warnings(body)
    if request.customerEmail is None and request.customerId is None:
        hint = _misspelt(body, ("customerEmail",)) or _misspelt(body, ("customerId",))
        raise InvalidRequest(
            "Either customerEmail or customerId is required" + hint,
            field="customerEmail",
            code="missing_customer",
        )
    return request, warnings


def unknown_field_warnings(body: dict[str, Any], known: frozenset[str] = KNOWN_FIELDS) -> list[str]:
    """One warning per field of ``body`` that is not in ``known`` (and, for createTicket, per
    unknown field of a message), naming the field it was probably meant to be."""
    unknown = [(name, name, known) for name in body if name not in known]
    messages = body.get("messages") if known is KNOWN_FIELDS else None
    if isinstance(messages, list):
        for i, message in enumerate(messages):
            if isinstance(message, dict):
                unknown.extend((f"messages[{i}].{name}", name, KNOWN_MESSAGE_FIELDS)
                               for name in message if name not in KNOWN_MESSAGE_FIELDS)
    # Guesses for the first few only: a body of 40,000 made-up fields must not keep the server
    # busy (difflib: seconds).
    return [_ignored(shown_as, name, known_here, guess=n < MAX_GUESSES)
            for n, (shown_as, name, known_here) in enumerate(unknown)]


#: Unknown fields of a request that get a "did you mean" guess (the rest a plain warning).
MAX_GUESSES = 20


def _ignored(shown_as: str, name: str, known: frozenset[str], *, guess: bool = True) -> str:
    meant = did_you_mean(name, known) if guess else None
    return f"Unknown field '{shown_as}' was ignored" + (f" (did you mean '{meant}'?)" if meant else "")


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known field an unknown one was probably meant to be: the same but for case, '_' or
    '-' (``customer_email``), or a close misspelling (``categroy``, ``custmerEmail``); else None."""
    squashed = {k.lower(): k for k in known}
    key = name.replace("_", "").replace("-", "").lower()
    if key in squashed:
        return squashed[key]
    if len(key) > 2 * max(map(len, squashed), default=0):  # cannot reach the 0.8 ratio
        return None
    close = difflib.get_close_matches(key, sorted(squashed), n=1, cutoff=0.8)
    return squashed[close[0]] if close else None


class TicketAssignee(BaseModel):
    id: str = Field(description="mem_ + 12 hex characters.")
    email: str
    name: str


class CategoryCandidate(BaseModel):
    category: str
    score: float


class TicketRouting(BaseModel):
    ruleId: str | None = Field(description="The routing rule that matched, or null when none did.")
    reason: str | None = Field(
        description="Why the ticket was routed (or not) as it was; null when the organization had no rules."
    )


class CreateTicketResponse(BaseModel):
    success: Literal[True] = True
    ticketId: str = Field(description="The new ticket's id (a UUID).")
    message: str = "Ticket created successfully"
    customerId: str = Field(description="The customer the ticket belongs to.")
    customerCreated: bool = Field(description="Whether this request created the customer.")
    category: str | None = Field(description="The ticket's category, or null when uncategorized.")
    categorySource: Literal["provided", "ai", "none"] = Field(
        description="How the category was chosen: provided by the client, by the AI, or none yet."
    )
    categoryConfidence: float | None = Field(
        description="The AI's confidence in its best candidate when it was asked; null when it was not."
    )
    categoryCandidates: list[CategoryCandidate] | None = Field(
        description="The AI's top categories with their scores, when it was asked; else null."
    )
    status: Status = Field(description="open, or resolved when the category resolves its tickets at once.")
    descriptionGenerated: bool = Field(description="True when the description was written from the messages.")
    assignee: TicketAssignee | None = Field(description="The team member routing assigned it to, or null.")
    routing: TicketRouting = Field(description="The routing decision.")
    warnings: list[str] = Field(default_factory=list, description="Unknown fields that were ignored, and similar.")


class DryRunResponse(BaseModel):
    """createTicket?dryRun=true: what createTicket would do; nothing is stored."""

    success: Literal[True] = True
    message: str = "Dry run: nothing was created"
    dryRun: Literal[True] = True
    category: str | None
    categorySource: Literal["provided", "ai", "none"]
    categoryConfidence: float | None
    categoryCandidates: list[CategoryCandidate] | None
    priority: Priority
    status: Status
    assignee: TicketAssignee | None
    tags: list[str] = Field(description="Tags routing would add.")
    routing: TicketRouting
    notifications: list[str] = Field(description='The deliveries it would make: "slack <channel>", "webhook <url>".')
    customerCreated: bool = Field(description="Whether the real request would create the customer.")
    warnings: list[str] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong, for a developer to act on.")
    code: str = Field(description="A stable machine-readable error code.")
    field: str | None = Field(None, description="The request field at fault, when there is one.")

"""What a client may send to the ticket endpoints: the request models of createTicket,
queryTickets, updateTicket and addMessage, and the parsers that check a decoded JSON body against
them. (getTicket takes only its path's ticket id: ``tickets.serializers.canonical_ticket_id``.)

Validation is Pydantic's (strict: a number is not a string), but its errors are rewritten into
messages that say which field is wrong and what would be right (``telemetron.validation``): every
error is a 400 that names the field. Unknown fields are accepted (clients of the ext-v1
specification may send more) and named back as warnings, with the field each was probably meant to
be (``did_you_mean``). A NUL character anywhere in a body is refused before, by
``api.requests.read_json``.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from telemetron.customers.service import normalize_email
from telemetron.enums import MESSAGE_ROLES, PRIORITIES, STATUSES, Priority
from telemetron.errors import InvalidRequest, json_type, shown
from telemetron.validation import (
    BLANK,
    CHOICE_ERRORS,
    EMAIL,
    NOT_BLANK,
    TYPE_NAMES,
    Documented,
    Email,
    MessageRoleField,
    NonBlank,
    PriorityField,
    StatusField,
    invalid_request,
)

# --- createTicket, and the helpers every parser shares --------------------------------------------

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


# --- queryTickets, updateTicket and addMessage: their models --------------------------------------

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The category filter value that finds uncategorized tickets (any case).
UNCATEGORIZED = "none"
_TICKET_ID = "The ticket's id (a UUID), as createTicket returned it."
SORTS = ("updatedAt", "createdAt", "relevance")
ORDERS = ("asc", "desc")
MAX_QUERY = 500
_NULL: dict[str, Any] = {"type": "null"}
_CHOICES = {"status": STATUSES, "priority": PRIORITIES, "sort": SORTS, "order": ORDERS}


class QueryTicketsRequest(BaseModel):
    """Every filter is optional; filters combine with AND. ``null`` is the same as leaving a filter out."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        json_schema_extra={"allOf": [
            # sort relevance ranks by q, and has no order of its own ...
            {"if": {"required": ["sort"], "properties": {"sort": {"const": "relevance"}}},
             "then": {"required": ["q"], "properties": {"q": {"type": "string"}, "order": _NULL}}},
            # ... and is the default with q
            {"if": {"required": ["q"], "properties": {"q": {"type": "string"}, "sort": _NULL}},
             "then": {"properties": {"order": _NULL}}},
        ]},
    )

    status: StatusField | Annotated[list[StatusField], Documented(minItems=1)] | None = Field(
        None, description="One status or a non-empty list of statuses.")
    priority: PriorityField | Annotated[list[PriorityField], Documented(minItems=1)] | None = Field(
        None, description="One priority or a non-empty list of priorities.")
    category: NonBlank | None = Field(
        None,
        description=(
            "Category name, ignoring case (inactive categories too). `\"none\"` finds uncategorized tickets. "
            "A name that matches no category gives no tickets and a warning."
        ),
    )
    customerId: NonBlank | None = Field(None, description="Only this customer's tickets (cust_...).")
    customerEmail: Email | None = Field(None, description="Only the tickets of the customer with this email (ignoring case).")
    createdAfter: str | None = Field(
        None,
        description="ISO 8601; tickets created strictly after it. Without a UTC offset the time is UTC.",
        json_schema_extra={"format": "date-time"},
    )
    updatedAfter: str | None = Field(
        None,
        description=(
            "ISO 8601; tickets changed strictly after it (status, priority, category, assignee or a new message). "
            "When given, tickets come oldest change first (see the endpoint's description)."
        ),
        json_schema_extra={"format": "date-time"},
    )
    limit: int | None = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size, 1 to 100 (more is a 400); null means the default, 20."
    )
    cursor: NonBlank | None = Field(
        None, description="`nextCursor` of the previous page, with the same filters. Leave out for the first page."
    )
    q: Annotated[str, Documented(pattern=NOT_BLANK, maxLength=MAX_QUERY)] | None = Field(
        None,
        description=(
            "Full-text search in the title, description, messages (internal notes included) and the customer's "
            "name and email. Every word must match, in any order; a word of two letters or more also matches "
            "as a prefix (`refu` finds refund); `\"quoted words\"` match as a phrase; punctuation separates "
            "words (`alice@example.com` is the phrase alice example com). At most 500 characters. "
            "Combines with every other filter. Without `sort`, the best matches come first."
        ),
    )
    sort: Literal["updatedAt", "createdAt", "relevance"] | None = Field(
        None,
        description=(
            "`updatedAt` (last activity: a message or any change), `createdAt`, or `relevance` (with `q` only). "
            "Default: `relevance` with `q`, else `updatedAt` with `updatedAfter`, else `createdAt`."
        ),
    )
    order: Literal["asc", "desc"] | None = Field(
        None,
        description="`asc` or `desc` for `updatedAt` and `createdAt`. Default: `asc` with `updatedAfter`, else `desc`.",
    )


class UpdateTicketRequest(BaseModel):
    """At least one of ``status``, ``priority``, ``category`` and ``assigneeId``."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        json_schema_extra={"anyOf": [{"required": [field]} for field in ("status", "priority", "category", "assigneeId")]},
    )

    ticketId: str = Field(description=_TICKET_ID)
    # Not nullable: a ticket always has a status and a priority (the default only means "unchanged").
    status: StatusField = Field(  # type: ignore[assignment]
        None,
        description="open, in_progress, waiting_for_customer or resolved. Resolving sets resolvedAt; any other status clears it.",
    )
    priority: PriorityField = Field(None, description="low, medium, high or urgent.")  # type: ignore[assignment]
    category: NonBlank | None = Field(
        None,
        description="An active category's name (ignoring case); the ticket's categorySource becomes `provided`. `null` removes the category.",
    )
    assigneeId: NonBlank | None = Field(
        None, description="A team member's id (mem_...) of this organization; `null` unassigns the ticket."
    )


class AddMessageRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        # an internal note is an agent's or a bot's
        json_schema_extra={"if": {"required": ["internal"], "properties": {"internal": {"const": True}}},
                           "then": {"properties": {"role": {"enum": ["agent", "bot"]}}}},
    )

    ticketId: str = Field(description=_TICKET_ID)
    role: MessageRoleField = Field(description="Who wrote it: customer, agent or bot.")
    content: Annotated[NonBlank, Field(min_length=1, description="The message text (at most 64 KiB of UTF-8).")]
    internal: bool = Field(default=False, description=(
        "true: an agents' note (role agent or bot), shown to agents only: never emailed, never in a "
        "webhook event or a Slack message."))


UPDATE_FIELDS = ("status", "priority", "category", "assigneeId")


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """A validated queryTickets request: lists sorted and deduplicated, the email normalized, times in UTC."""

    statuses: tuple[str, ...] | None
    priorities: tuple[str, ...] | None
    category: str | None
    customer_id: str | None
    customer_email: str | None
    created_after: datetime | None
    updated_after: datetime | None
    limit: int
    cursor: str | None
    q: str | None = None
    sort: str = "createdAt"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class TicketUpdate:
    """A validated updateTicket request; ``changes`` holds only the fields the client sent."""

    ticket_id: str
    changes: dict[str, str | None]


# --- queryTickets, updateTicket and addMessage: their validation ----------------------------------


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(f"Request body must be a JSON object, got {json_type(body)}", code="invalid_body")
    return body


def _invalid(exc: ValidationError, body: dict[str, Any], known: frozenset[str]) -> InvalidRequest:
    tickets_own = special_message(body, known)

    def special(error: ErrorDetails, field: str) -> tuple[str, str] | None:
        if field in _CHOICES and error.get("input") is None:
            return f"{field} must not be null; it must be one of: {', '.join(_CHOICES[field])}", "invalid_type"
        if error["type"] in CHOICE_ERRORS and field in _CHOICES:
            choices = ", ".join(_CHOICES[field])
            return f"Invalid {field} {shown(error['input'])}. Must be one of: {choices}", f"invalid_{field}"
        if field == "limit":
            return f"limit must be an integer from 1 to {MAX_LIMIT} (got {shown(error['input'])})", "invalid_limit"
        return tickets_own(error, field)

    return invalid_request(exc, special=special)


def _not_blank(field: str, value: str | None, hint: str = "") -> None:
    if value is not None and not value.strip():
        raise InvalidRequest(f"{field} must not be empty{hint}", field=field, code="empty_field")


def _one_or_list(body: dict[str, Any], field: str) -> tuple[str, ...] | None:
    """A status or priority filter: a string or a non-empty list of strings, each a valid choice."""
    value = body.get(field)
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise InvalidRequest(
            f"{field} must not be an empty list; leave it out to match every {field}", field=field, code="empty_field"
        )
    choices = _CHOICES[field]
    for i, item in enumerate(items):
        where = f"{field}[{i}]" if isinstance(value, list) else field
        if not isinstance(item, str):
            raise InvalidRequest(
                f"{where} must be a string or an array of strings, got {json_type(item)}",
                field=where,
                code="invalid_type",
            )
        if not item.strip():
            raise InvalidRequest(f"{where} must not be empty; send null or leave it out to not filter on it",
                                 field=where, code="empty_field")
        if item not in choices:
            raise InvalidRequest(
                f"Invalid {field} {item!r}. Must be one of: {', '.join(choices)}", field=where, code=f"invalid_{field}"
            )
    return tuple(sorted(set(items)))


def parse_time(field: str, value: str | None) -> datetime | None:
    """ISO 8601 to an aware UTC datetime; a time without an offset is UTC, a date alone is its midnight."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{field} must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z (got {value!r})",
            field=field,
            code="invalid_datetime",
        ) from None


_QUERY_FIELDS = frozenset(QueryTicketsRequest.model_fields)


def _as_written_status(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a status written as the ext-v1 specification words it ("in progress",
    "Waiting for customer") in the API's form (``in_progress``), in a copy."""
    def canonical(value: Any) -> Any:
        if isinstance(value, str):
            key = "_".join(value.strip().lower().replace("-", " ").split())
            return key if key in STATUSES else value
        return value

    value = body.get("status")
    if value is None:
        return body
    return {**body, "status": [canonical(v) for v in value] if isinstance(value, list) else canonical(value)}


def parse_query_tickets(body: Any) -> tuple[TicketQuery, list[str]]:
    body = _as_written_status(_require_object(body))
    statuses = _one_or_list(body, "status")
    priorities = _one_or_list(body, "priority")
    # null is the same as leaving a filter out, for every field (limit included)
    rest = {k: v for k, v in body.items() if k not in ("status", "priority") and v is not None}
    limit = rest.get("limit")
    if isinstance(limit, float) and limit.is_integer():  # 50.0 is the integer 50 in JSON (and JSON Schema)
        rest["limit"] = int(limit)
    try:
        request = QueryTicketsRequest.model_validate(rest)
    except ValidationError as exc:
        raise _invalid(exc, body, _QUERY_FIELDS) from None
    for field in ("category", "customerId", "customerEmail", "cursor", "q"):
        value = getattr(request, field)
        _not_blank(field, value, "; send null or leave it out to not filter on it" if field != "cursor" else "")
    category = request.category.strip() if request.category is not None else None
    query = TicketQuery(
        statuses=statuses,
        priorities=priorities,
        category=category,
        customer_id=request.customerId.strip() if request.customerId is not None else None,
        customer_email=normalize_email(request.customerEmail) if request.customerEmail is not None else None,
        created_after=parse_time("createdAfter", request.createdAfter),
        updated_after=parse_time("updatedAfter", request.updatedAfter),
        limit=request.limit or DEFAULT_LIMIT,
        cursor=request.cursor.strip() if request.cursor is not None else None,
    )
    query = _sort_and_search(query, request)
    return query, unknown_field_warnings(body, _QUERY_FIELDS)


def _sort_and_search(query: TicketQuery, request: QueryTicketsRequest) -> TicketQuery:
    q = None
    if request.q is not None:
        if len(request.q) > MAX_QUERY:
            raise InvalidRequest(f"q is {len(request.q)} characters long; at most {MAX_QUERY}",
                                 field="q", code="query_too_long")
        q = request.q.strip()
    sort = request.sort or ("relevance" if q else "updatedAt" if query.updated_after else "createdAt")
    if sort == "relevance":
        if q is None:
            raise InvalidRequest("sort relevance needs q (the words to rank by); send q, or sort by updatedAt "
                                 "or createdAt", field="sort", code="relevance_without_q")
        if request.order is not None:
            raise InvalidRequest("order does not apply to sort relevance (the best matches come first); "
                                 "leave order out, or sort by updatedAt or createdAt", field="order",
                                 code="invalid_order")
    order = request.order or ("asc" if sort == "updatedAt" and query.updated_after else "desc")
    return dataclasses.replace(query, q=q, sort=sort, descending=order == "desc")


_UPDATE_KNOWN = frozenset(UpdateTicketRequest.model_fields)


def parse_update_ticket(body: Any) -> tuple[TicketUpdate, list[str]]:
    body = _as_written_status(_require_object(body))
    try:
        request = UpdateTicketRequest.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc, body, _UPDATE_KNOWN) from None
    sent = [f for f in UPDATE_FIELDS if f in request.model_fields_set]
    if not sent:
        raise InvalidRequest(
            "Nothing to update: send at least one of status, priority, category, assigneeId",
            code="nothing_to_update",
        )
    _not_blank("category", request.category, "; send null to remove the ticket's category")
    _not_blank("assigneeId", request.assigneeId, "; send null to unassign the ticket")
    changes: dict[str, str | None] = {field: getattr(request, field) for field in sent}
    if request.assigneeId is not None and "assigneeId" in changes:
        changes["assigneeId"] = request.assigneeId.strip()
    return TicketUpdate(request.ticketId, changes), unknown_field_warnings(body, _UPDATE_KNOWN)


_MESSAGE_KNOWN = frozenset(AddMessageRequest.model_fields)


def parse_add_message(body: Any, *, max_text: int = MAX_TEXT) -> tuple[AddMessageRequest, list[str]]:
    body = _require_object(body)
    try:
        request = AddMessageRequest.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc, body, _MESSAGE_KNOWN) from None
    _not_blank("content", request.content)
    if request.internal and request.role == "customer":
        raise InvalidRequest("internal notes are written by agents or bots: a customer message cannot be internal",
                             field="internal", code="invalid_internal")
    check_utf8_size(request.content, max_text, "content")
    return request, unknown_field_warnings(body, _MESSAGE_KNOWN)


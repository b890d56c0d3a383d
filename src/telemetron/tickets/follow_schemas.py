"""Requests and responses of the endpoints that follow a ticket after createTicket:
getTicket, queryTickets, updateTicket and addMessage.

As for createTicket (``tickets.schemas``): validation is strict (a number is not a string), every
error is a 400 that names the field and says what would be right, unknown fields are ignored and
named back as warnings. (A NUL character anywhere in a body is refused by ``api.requests.read_json``.) The response models are here for the OpenAPI document; the handlers build
the bodies directly (``tickets.serializers``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from telemetron.customers.service import normalize_email
from telemetron.enums import PRIORITIES, STATUSES, MessageRole, Priority, Status
from telemetron.errors import InvalidRequest, json_type, shown
from telemetron.tickets.schemas import (
    MAX_TEXT,
    CategoryCandidate,
    TicketAssignee,
    TicketRouting,
    check_utf8_size,
    special_message,
    unknown_field_warnings,
)
from telemetron.validation import (
    CHOICE_ERRORS,
    NOT_BLANK,
    Documented,
    Email,
    MessageRoleField,
    NonBlank,
    PriorityField,
    StatusField,
    invalid_request,
)

__all__ = ["STATUSES"]  # re-exported: the web app imports it from here
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


# --- requests -------------------------------------------------------------------------------------


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


# --- validation -----------------------------------------------------------------------------------


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


# --- responses (for the OpenAPI document) ---------------------------------------------------------


class TicketCustomer(BaseModel):
    id: str = Field(description="cust_ + 12 hex characters.")
    email: str
    name: str


class MessageAuthor(BaseModel):
    id: str
    name: str


class MessageDelivery(BaseModel):
    state: Literal["pending", "sent", "failed"]
    error: str | None = Field(description="Why it failed, or the last error while it is retried.")


class TicketMessageOut(BaseModel):
    id: int = Field(description="The message's id.")
    position: int = Field(description="0 for the first message, then 1, 2, ...")
    role: MessageRole
    content: str
    author: MessageAuthor | None = Field(
        description="The team member who wrote this agent message in the web app; null for messages sent through the API."
    )
    createdAt: str = Field(description="ISO 8601, UTC.")
    internal: bool = Field(description="An agents' note: never sent to the customer nor in webhooks.")
    channel: Literal["api", "email", "web"] = Field(description="How the message came in or was written.")
    delivery: MessageDelivery | None = Field(
        description="The email sent for an agent's reply on an email ticket; null when nothing is sent.")
    threading: str | None = Field(description="How an incoming email was matched to this ticket.")


class TicketSummary(BaseModel):
    id: str = Field(description="The ticket's id (a UUID).")
    title: str
    description: str = Field(description="Empty when the ticket was created without description and messages.")
    descriptionGenerated: bool = Field(description="True when the description was written from the messages.")
    priority: Priority
    status: Status
    category: str | None = Field(description="The category's name, or null when uncategorized.")
    categorySource: Literal["provided", "ai", "none"] = Field(
        description="provided (by the client or an agent), ai, or none (uncategorized)."
    )
    categoryConfidence: float | None = Field(description="The AI's confidence in its best candidate whenever it was asked (categorySource ai, or none when unsure); null when it was not asked.")
    customer: TicketCustomer
    assignee: TicketAssignee | None = Field(description="The team member the ticket is assigned to, or null.")
    tags: list[str] = Field(description="Tags, as routing rules added them.")
    createdAt: str = Field(description="ISO 8601, UTC, with microseconds.")
    updatedAt: str = Field(description="ISO 8601: the last activity (a change of status, priority, category, assignee, or a message).")
    resolvedAt: str | None = Field(description="ISO 8601 when resolved; null while not resolved.")
    number: int | None = Field(description="The organization's own ticket number: [#N] in email subjects.")
    channel: Literal["api", "email"] = Field(description="email when the ticket came in by email (replies are emailed).")
    lastCustomerMessageAt: str | None = Field(description="ISO 8601: the customer's last message; null if none.")
    waitingOnUs: bool = Field(description="The customer wrote last (or nobody answered yet) and the ticket is not resolved.")
    waitingSince: str | None = Field(description="ISO 8601: since when the customer has been waiting; null when not waiting.")


class TicketAttachment(BaseModel):
    id: str
    messageId: int = Field(description="The message it came with.")
    filename: str
    contentType: str
    size: int
    inline: bool = Field(description="An image shown inside the mail's HTML.")


class TicketDetail(TicketSummary):
    categoryCandidates: list[CategoryCandidate] | None = Field(
        description="The AI's top three categories with their scores, when the AI was asked; else null."
    )
    routing: TicketRouting = Field(description="The routing decision made when the ticket was created.")
    messages: list[TicketMessageOut] = Field(description="The conversation, in order.")
    attachments: list[TicketAttachment] = Field(description="Files that came with the ticket's emails.")


class GetTicketResponse(BaseModel):
    success: Literal[True] = True
    ticket: TicketDetail


class QueryTicketsResponse(BaseModel):
    success: Literal[True] = True
    tickets: list[TicketSummary] = Field(description="A page of tickets, without their messages.")
    nextCursor: str | None = Field(description="Send it as `cursor` for the next page; null on the last page.")
    warnings: list[str] = Field(default_factory=list)


class UpdateTicketResponse(BaseModel):
    success: Literal[True] = True
    message: str = "Ticket updated successfully"
    changed: list[Literal["status", "priority", "category", "assigneeId"]] = Field(
        description="The fields whose value changed (sending a field's current value changes nothing)."
    )
    ticket: TicketDetail
    warnings: list[str] = Field(default_factory=list)


class AddMessageResponse(BaseModel):
    success: Literal[True] = True
    message: str = "Message added successfully"
    messageId: int
    position: int = Field(description="The message's position in the conversation (0-based).")
    ticketStatus: Status = Field(description="The ticket's status after the message.")
    reopened: bool = Field(description="True when this customer message reopened a resolved ticket.")
    internal: bool = Field(description="True when the message is an agents' note.")
    warnings: list[str] = Field(default_factory=list)

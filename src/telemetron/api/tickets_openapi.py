"""OpenAPI of the ticket endpoints: what the models cannot say (descriptions, the user's document's
examples, errors).

createTicket follows the user's document; getTicket, queryTickets, updateTicket and addMessage
follow the same conventions (docs/client-guide-tickets.md shows them in use).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telemetron.api.docs import IDEMPOTENCY_KEY, IDEMPOTENCY_REUSED, operation, path_parameter, rejections
from telemetron.customers.service import normalize_email
from telemetron.idempotency.service import check_key
from telemetron.tickets.read import cursor_after
from telemetron.tickets.requests import (
    AddMessageRequest,
    CreateTicketRequest,
    QueryTicketsRequest,
    UpdateTicketRequest,
    parse_add_message,
    parse_create_ticket,
    parse_query_tickets,
    parse_update_ticket,
)
from telemetron.tickets.responses import (
    AddMessageResponse,
    CreateTicketResponse,
    DryRunResponse,
    GetTicketResponse,
    QueryTicketsResponse,
    UpdateTicketResponse,
)

_TICKET_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
_MEMBER = {"id": "mem_0a1b2c3d4e5f", "email": "sam.agent@example.com", "name": "Sam Agent"}
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": _TICKET_ID,
    "title": "Device not connecting to WiFi",
    "description": "Customer reports their device fails to connect after firmware update v2.3.1",
    "descriptionGenerated": False,
    "priority": "high",
    "status": "in_progress",
    "category": "Connectivity",
    "categorySource": "provided",
    "categoryConfidence": None,
    "customer": {"id": "cust_a1b2c3d4e5f6", "email": "john.doe@example.com", "name": "john.doe"},
    "assignee": _MEMBER,
    "tags": ["wifi"],
    "createdAt": "2026-11-25T14:58:17.058805+00:00",
    "updatedAt": "2026-11-25T15:02:41.310022+00:00",
    "resolvedAt": None,
    "lastCustomerMessageAt": "2026-11-25T14:58:17.058805+00:00",
    "waitingOnUs": False,
    "waitingSince": None,
}
_TICKET_EXAMPLE: dict[str, Any] = {
    **_SUMMARY_EXAMPLE,
    "categoryCandidates": None,
    "routing": {"ruleId": "rule_3f2a9c1b0d4e", "reason": "rule 'Connectivity to Sam' matched: category is Connectivity"},
    "messages": [
        {
            "id": 101,
            "position": 0,
            "role": "customer",
            "content": "My device stopped connecting after the update.",
            "author": None,
            "createdAt": "2026-11-25T14:58:17.058805+00:00",
        },
        {
            "id": 102,
            "position": 1,
            "role": "agent",
            "content": "Could you try resetting the network settings?",
            "author": {"id": _MEMBER["id"], "name": _MEMBER["name"]},
            "createdAt": "2026-11-25T15:01:03.774120+00:00",
        },
    ],
}

_TICKET_NOT_FOUND = {"error": "Ticket not found", "code": "ticket_not_found", "field": "ticketId"}
_EMAIL = "john.doe@example.com"
_GOOD = {"title": "Device not connecting to WiFi", "customerEmail": _EMAIL}
_MESSAGE = {"role": "customer", "content": "It stopped working."}

CREATE_TICKET_OPENAPI: dict[str, Any] = operation(
    description=(
        "Creates a new support ticket. Requires either `customerEmail` or `customerId`. An unknown "
        "`customerEmail` creates the customer. `category` is matched ignoring case; when it is missing "
        "or unmatched the ticket is categorized automatically. Without a `description`, one is generated "
        "from `messages`. Send an `Idempotency-Key` header to retry safely: the same key and body return "
        "the first response and create nothing more."
    ),
    ok=("Ticket created successfully; with `dryRun=true`, what would happen (nothing is stored)",
        [CreateTicketResponse, DryRunResponse], {
            "success": True, "ticketId": _TICKET_ID, "message": "Ticket created successfully",
            "customerId": "cust_a1b2c3d4e5f6", "customerCreated": False, "category": "Connectivity",
            "categorySource": "provided", "categoryConfidence": None, "categoryCandidates": None,
            "status": "open", "descriptionGenerated": False, "assignee": None,
            "routing": {"ruleId": None, "reason": None}, "warnings": [],
        }),
    request=CreateTicketRequest,
    parameters=[IDEMPOTENCY_KEY, {
        "name": "dryRun",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
        "description": (
            "`true`: answer what would happen (category, routing, notifications) and store nothing. "
            "Any other value than true/false/1/0 is a 400 `invalid_dry_run`, never a real ticket."
        ),
    }],
    examples={
        "withCustomerEmail": ("Create Ticket with Customer Email", {
            "title": "Device not connecting to WiFi",
            "description": "Customer reports their device fails to connect after firmware update v2.3.1",
            "priority": "high",
            "customerEmail": _EMAIL,
            "category": "Connectivity",
        }),
        "withCustomerId": ("Create Ticket with Customer ID",
                           {"title": "Battery draining too fast", "customerId": "cust_a1b2c3d4e5f6", "priority": "medium"}),
        "withMessages": ("Create Ticket with Messages", {
            "title": "Device overheating during charging",
            "customerEmail": _EMAIL,
            "priority": "high",
            "messages": [
                {"role": "customer", "content": "My device gets very hot when I plug it in to charge."},
                {"role": "bot", "content": "I'm sorry to hear that. How long has this been happening?"},
                {"role": "customer", "content": "Started about a week ago after the latest update."},
            ],
        }),
    },
    invalid=[
        *rejections(parse_create_ticket, {"customerEmail": _EMAIL}, {**_GOOD, "priority": "critical"},
                    {"title": "x"}, {**_GOOD, "title": "  "}, {**_GOOD, "title": 5}, {**_GOOD, "title": "x" * 256},
                    {**_GOOD, "messages": [{"role": "admin", "content": "hi"}]}, {**_GOOD, "messages": [_MESSAGE] * 1001},
                    {**_GOOD, "description": "d" * 70_000}),
        *rejections(normalize_email, "john.doe@"),
        *rejections(check_key, "k" * 256),
        {
            "error": "customerEmail and customerId name different customers "
            "(cust_a1b2c3d4e5f6 is not jane.roe@example.com); send one of them",
            "code": "customer_mismatch",
            "field": "customerEmail",
        },
        {"error": "dryRun must be true or false (got 'yes'); nothing was created", "code": "invalid_dry_run",
         "field": "dryRun"},
        {"error": "title must not contain the NUL character (\\u0000)", "code": "invalid_character", "field": "title"},
    ],
    errors={
        404: ("Customer not found (when using customerId)", [{
            "error": "Customer not found or does not belong to this organization",
            "code": "customer_not_found",
            "field": "customerId",
        }]),
        422: ("Idempotency-Key reused with a different request body", [IDEMPOTENCY_REUSED]),
    },
)

GET_TICKET_OPENAPI: dict[str, Any] = operation(
    description=(
        "The ticket with its messages in order, its category (and how it was chosen), its customer and its "
        "assignee. An id that is not a UUID, or a ticket of another organization, is a 404."
    ),
    ok=("The ticket", GetTicketResponse, {"success": True, "ticket": _TICKET_EXAMPLE}),
    parameters=[path_parameter("ticketId", {"type": "string", "format": "uuid"},
                               "The ticket's id, as createTicket returned it.", _TICKET_ID)],
    errors={404: ("No ticket with this id in this organization", [_TICKET_NOT_FOUND])},
)

_PAGE = {"status": ["open", "in_progress"], "limit": 50}
_NEXT_PAGE = {**_PAGE, "cursor": cursor_after(parse_query_tickets(_PAGE)[0],
                                              datetime(2026, 11, 25, 14, 58, 17, 58805, tzinfo=UTC), _TICKET_ID)}

QUERY_TICKETS_OPENAPI: dict[str, Any] = operation(
    description=(
        "A page of tickets (without messages), filtered; filters combine with AND and `null` means no filter. "
        "`category: \"none\"` finds uncategorized tickets. Pages follow each other with `cursor` = the previous "
        "page's `nextCursor` (null on the last page), with the same filters; `limit` may change between pages. "
        "A cursor this API did not return, or sent with other filters, is a 400.\n\n"
        "Order: newest first by `createdAt` (tickets created while you walk the pages do not appear in the walk; "
        "every other ticket appears exactly once). With `updatedAfter`: oldest change first by `updatedAt`, for "
        "following changes: a ticket changed during the walk appears again later in it, none is skipped; poll "
        "again with the last `updatedAt` you saw as `updatedAfter`. `sort` changes the order: `updatedAt` (last "
        "activity) or `createdAt`, `order` `asc` or `desc`; with `q` (full-text search), the best matches come "
        "first unless `sort` says otherwise."
    ),
    ok=("A page of tickets", QueryTicketsResponse,
        {"success": True, "tickets": [_SUMMARY_EXAMPLE], "nextCursor": None, "warnings": []}),
    request=QueryTicketsRequest,
    examples={
        "openTickets": ("Open and in-progress tickets, 50 a page", _PAGE),
        "nextPage": ("The next page (same filters, the previous page's nextCursor)", _NEXT_PAGE),
        "byCustomer": ("A customer's tickets in a category", {"customerEmail": _EMAIL, "category": "connectivity"}),
        "changedSince": ("Tickets changed since a time (oldest change first)",
                         {"updatedAfter": "2026-11-25T15:00:00Z", "limit": 100}),
        "uncategorized": ("Uncategorized tickets", {"category": "none"}),
        "search": ("Search: open tickets that mention firmware and the phrase 'not connecting', latest activity first",
                   {"q": 'firmware "not connecting"', "status": "open", "sort": "updatedAt"}),
    },
    invalid=[
        *rejections(parse_query_tickets, {"status": "closed"}, {"priority": "critical"}, {"status": []},
                    {"limit": 500}, {"createdAfter": "yesterday"}, {"category": 5}, {"category": " "},
                    {"sort": "relevance"}, {"q": "x" * 501}),
        {"error": "cursor is not a cursor this API returned; send the nextCursor of the previous page unchanged, "
         "or leave cursor out to start from the first page", "code": "invalid_cursor", "field": "cursor"},
        {"error": "cursor belongs to a query with other filters; send the same filters as for the first page, "
         "or leave cursor out to start over", "code": "cursor_mismatch", "field": "cursor"},
    ],
)

UPDATE_TICKET_OPENAPI: dict[str, Any] = operation(
    description=(
        "Changes a ticket's `status`, `priority`, `category` and/or `assigneeId` (at least one). Resolving sets "
        "`resolvedAt`; any other status clears it (reopens). `category` must name an active category (ignoring "
        "case) and makes `categorySource` `provided`; `null` removes the category. `assigneeId` must be a team "
        "member of this organization; `null` unassigns. Answers with the updated ticket, as getTicket, and "
        "`changed`: the fields whose value changed (sending the current value is allowed and changes nothing)."
    ),
    ok=("Ticket updated", UpdateTicketResponse, {
        "success": True, "message": "Ticket updated successfully", "changed": ["status", "assigneeId"],
        "ticket": _TICKET_EXAMPLE, "warnings": [],
    }),
    request=UpdateTicketRequest,
    examples={
        "startWork": ("Take the ticket: in progress, assigned",
                      {"ticketId": _TICKET_ID, "status": "in_progress", "assigneeId": "mem_0a1b2c3d4e5f"}),
        "resolve": ("Resolve", {"ticketId": _TICKET_ID, "status": "resolved"}),
        "recategorize": ("Correct the category and raise the priority",
                         {"ticketId": _TICKET_ID, "category": "Battery", "priority": "urgent"}),
        "unassign": ("Unassign", {"ticketId": _TICKET_ID, "assigneeId": None}),
    },
    invalid=[
        *rejections(parse_update_ticket, {"status": "open"}, {"ticketId": _TICKET_ID},
                    {"ticketId": _TICKET_ID, "status": "closed"}, {"ticketId": _TICKET_ID, "priority": "critical"},
                    {"ticketId": _TICKET_ID, "category": ""}, {"ticketId": _TICKET_ID, "status": None}),
        {"error": "Category 'Legacy' is inactive; inactive categories cannot be given to tickets",
         "code": "category_inactive", "field": "category"},
    ],
    errors={404: ("The ticket, the category or the assignee is not this organization's", [
        _TICKET_NOT_FOUND,
        {"error": "Category 'Firmware' not found in this organization", "code": "category_not_found",
         "field": "category"},
        {"error": "Assignee mem_0a1b2c3d4e5f is not a member of this organization", "code": "member_not_found",
         "field": "assigneeId"},
    ])},
)

ADD_MESSAGE_OPENAPI: dict[str, Any] = operation(
    description=(
        "Appends a message to the ticket's conversation, at the next position. A `customer` message on a "
        "resolved ticket reopens it (status `open`, `resolvedAt` cleared) and the response says `reopened: true`. "
        "Send an `Idempotency-Key` header to retry safely: the same key and body return the first response "
        "and add nothing more (keys are per endpoint: a createTicket key cannot be reused here)."
    ),
    ok=("Message added", AddMessageResponse, {
        "success": True, "message": "Message added successfully", "messageId": 103, "position": 2,
        "ticketStatus": "open", "reopened": True, "internal": False, "warnings": [],
    }),
    request=AddMessageRequest,
    parameters=[IDEMPOTENCY_KEY],
    examples={
        "agentReply": ("An agent's reply", {"ticketId": _TICKET_ID, "role": "agent",
                                            "content": "Could you try resetting the network settings?"}),
        "customerReply": ("A customer's reply (reopens a resolved ticket)",
                          {"ticketId": _TICKET_ID, "role": "customer", "content": "It stopped working again this morning."}),
    },
    invalid=[
        *rejections(parse_add_message, {"ticketId": _TICKET_ID, "role": "agent"},
                    {"ticketId": _TICKET_ID, "role": "agent", "content": " "},
                    {"ticketId": _TICKET_ID, "role": "agent", "content": "x" * 70_000},
                    {"ticketId": _TICKET_ID, "role": "admin", "content": "hi"},
                    {"ticketId": _TICKET_ID, "role": "customer", "content": "hi", "internal": True}),
        *rejections(check_key, "k" * 256),
    ],
    errors={
        404: ("No ticket with this id in this organization", [_TICKET_NOT_FOUND]),
        422: ("Idempotency-Key reused with a different request body (or on another endpoint)", [IDEMPOTENCY_REUSED]),
    },
)

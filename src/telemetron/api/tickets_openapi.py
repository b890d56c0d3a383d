"""OpenAPI of the ticket endpoints: the user's document's examples and every error.

createTicket follows the user's document; getTicket, queryTickets, updateTicket and addMessage
follow the same conventions (docs/client-guide-tickets.md shows them in use).
"""

from __future__ import annotations

from typing import Any

from telemetron.api.docs import SECURITY, error, json_body, ok, one_of
from telemetron.tickets.follow_schemas import (
    AddMessageRequest,
    AddMessageResponse,
    GetTicketResponse,
    QueryTicketsRequest,
    QueryTicketsResponse,
    UpdateTicketRequest,
    UpdateTicketResponse,
)
from telemetron.tickets.schemas import CreateTicketRequest, CreateTicketResponse, DryRunResponse

CREATE_TICKET_OPENAPI: dict[str, Any] = {
    "description": (
        "Creates a new support ticket. Requires either `customerEmail` or `customerId`. An unknown "
        "`customerEmail` creates the customer. `category` is matched ignoring case; when it is missing "
        "or unmatched the ticket is categorized automatically. Without a `description`, one is generated "
        "from `messages`. Send an `Idempotency-Key` header to retry safely: the same key and body return "
        "the first response and create nothing more."
    ),
    "responses": {
        "200": one_of(
            "Ticket created successfully; with `dryRun=true`, what would happen (nothing is stored)",
            [CreateTicketResponse, DryRunResponse],
            {
                "success": True,
                "ticketId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                "message": "Ticket created successfully",
                "customerId": "cust_a1b2c3d4e5f6",
                "customerCreated": False,
                "category": "Connectivity",
                "categorySource": "provided",
                "categoryConfidence": None,
                "categoryCandidates": None,
                "status": "open",
                "descriptionGenerated": False,
                "assignee": None,
                "routing": {"ruleId": None, "reason": None},
                "warnings": [],
            },
        ),
        "400": error(
            "Invalid request: invalid JSON, a missing, empty or wrongly typed field, an invalid value or a limit passed (every code below)",
            {"error": "title is required", "code": "missing_field", "field": "title"},
            {
                "error": "Invalid JSON payload: unexpected character: line 1 column 2 (char 1)",
                "code": "invalid_json",
            },
            {
                "error": "Invalid priority 'critical'. Must be one of: low, medium, high, urgent",
                "code": "invalid_priority",
                "field": "priority",
            },
            {
                "error": "Either customerEmail or customerId is required",
                "code": "missing_customer",
                "field": "customerEmail",
            },
            {
                "error": "dryRun must be true or false (got 'yes'); nothing was created",
                "code": "invalid_dry_run",
                "field": "dryRun",
            },
            {"error": "Request body must be a JSON object, got an array", "code": "invalid_body"},
            {"error": "title must not be empty", "code": "empty_field", "field": "title"},
            {"error": "title must be a string, got a number", "code": "invalid_type", "field": "title"},
            {"error": "title must be at most 255 characters (got 256)", "code": "field_too_long", "field": "title"},
            {
                "error": "customerEmail is not a valid email address: There must be something after the @-sign.",
                "code": "invalid_email",
                "field": "customerEmail",
            },
            {
                "error": "Invalid messages[0].role 'admin'. Must be one of: customer, agent, bot",
                "code": "invalid_role",
                "field": "messages[0].role",
            },
            {
                "error": "messages may hold at most 1000 messages (got 1001)",
                "code": "too_many_messages",
                "field": "messages",
            },
            {
                "error": "customerEmail and customerId name different customers "
                "(cust_a1b2c3d4e5f6 is not jane.roe@example.com); send one of them",
                "code": "customer_mismatch",
                "field": "customerEmail",
            },
            {
                "error": "Idempotency-Key must be 1 to 255 printable characters",
                "code": "invalid_idempotency_key",
                "field": "Idempotency-Key",
            },
            {
                "error": "title must not contain the NUL character (\\u0000)",
                "code": "invalid_character",
                "field": "title",
            },
        ),
        "401": error(
            "Invalid or missing API key",
            {"error": "Invalid API key", "code": "invalid_api_key"},
            {"error": "Missing API key: send it in the x-api-key header", "code": "missing_api_key"},
        ),
        "404": error(
            "Customer not found (when using customerId)",
            {
                "error": "Customer not found or does not belong to this organization",
                "code": "customer_not_found",
                "field": "customerId",
            },
        ),
        "413": error(
            "Request body over the size limit (1 MiB by default)",
            {"error": "Request body is over the limit of 1048576 bytes", "code": "body_too_large"},
        ),
        "422": error(
            "Idempotency-Key reused with a different request body",
            {
                "error": "This Idempotency-Key was already used with a different request body; use a new key for a new request",
                "code": "idempotency_key_reused",
                "field": "Idempotency-Key",
            },
        ),
        "500": error(
            "Internal server error; the cause is logged under the X-Request-ID of the response",
            {
                "error": "Internal server error",
                "code": "internal_error",
                "requestId": "3f2c0c3e9d1b4c2a8f7e6d5c4b3a2910",
            },
        ),
    },
    "security": SECURITY,
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Makes retries safe: kept for at least 24 hours.",
        },
        {
            "name": "dryRun",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
            "description": (
                "`true`: answer what would happen (category, routing, notifications) and store nothing. "
                "Any other value than true/false/1/0 is a 400 `invalid_dry_run`, never a real ticket."
            ),
        },
    ],
    "requestBody": json_body(
        CreateTicketRequest,
        {
            "withCustomerEmail": {
                "summary": "Create Ticket with Customer Email",
                "value": {
                    "title": "Device not connecting to WiFi",
                    "description": "Customer reports their device fails to connect after firmware update v2.3.1",
                    "priority": "high",
                    "customerEmail": "john.doe@example.com",
                    "category": "Connectivity",
                },
            },
            "withCustomerId": {
                "summary": "Create Ticket with Customer ID",
                "value": {
                    "title": "Battery draining too fast",
                    "customerId": "cust_a1b2c3d4e5f6",
                    "priority": "medium",
                },
            },
            "withMessages": {
                "summary": "Create Ticket with Messages",
                "value": {
                    "title": "Device overheating during charging",
                    "customerEmail": "john.doe@example.com",
                    "priority": "high",
                    "messages": [
                        {
                            "role": "customer",
                            "content": "My device gets very hot when I plug it in to charge.",
                        },
                        {
                            "role": "bot",
                            "content": "I'm sorry to hear that. How long has this been happening?",
                        },
                        {"role": "customer", "content": "Started about a week ago after the latest update."},
                    ],
                },
            },
        },
    ),
}


# --- getTicket, queryTickets, updateTicket, addMessage ----------------------------------------------

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

_UNAUTHORIZED = error(
    "Invalid or missing API key (checked before anything else in the request)",
    {"error": "Invalid API key", "code": "invalid_api_key"},
    {"error": "Missing API key: send it in the x-api-key header", "code": "missing_api_key"},
)
_INTERNAL = error(
    "Internal server error; the cause is logged under the X-Request-ID of the response",
    {"error": "Internal server error", "code": "internal_error", "requestId": "3f2c0c3e9d1b4c2a8f7e6d5c4b3a2910"},
)
_TOO_LARGE = error(
    "Request body over the size limit (1 MiB by default)",
    {"error": "Request body is over the limit of 1048576 bytes", "code": "body_too_large"},
)
_TICKET_NOT_FOUND = {"error": "Ticket not found", "code": "ticket_not_found", "field": "ticketId"}
_INVALID_JSON = {"error": "Invalid JSON payload: unexpected character: line 1 column 2 (char 1)", "code": "invalid_json"}
_INVALID_BODY = {"error": "Request body must be a JSON object, got an array", "code": "invalid_body"}

GET_TICKET_OPENAPI: dict[str, Any] = {
    "description": (
        "The ticket with its messages in order, its category (and how it was chosen), its customer and its "
        "assignee. An id that is not a UUID, or a ticket of another organization, is a 404."
    ),
    "parameters": [
        {
            "name": "ticketId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
            "description": "The ticket's id, as createTicket returned it.",
            "example": _TICKET_ID,
        }
    ],
    "responses": {
        "200": ok("The ticket", GetTicketResponse, {"success": True, "ticket": _TICKET_EXAMPLE}),
        "401": _UNAUTHORIZED,
        "404": error("No ticket with this id in this organization", _TICKET_NOT_FOUND),
        "500": _INTERNAL,
    },
    "security": SECURITY,
}

QUERY_TICKETS_OPENAPI: dict[str, Any] = {
    "description": (
        "A page of tickets (without messages), filtered; filters combine with AND and `null` means no filter. "
        "`category: \"none\"` finds uncategorized tickets. Pages follow each other with `cursor` = the previous "
        "page's `nextCursor` (null on the last page), with the same filters; `limit` may change between pages.\n\n"
        "Order: newest first by `createdAt` (tickets created while you walk the pages do not appear in the walk; "
        "every other ticket appears exactly once). With `updatedAfter`: oldest change first by `updatedAt`, for "
        "following changes: a ticket changed during the walk appears again later in it, none is skipped; poll "
        "again with the last `updatedAt` you saw as `updatedAfter`. `sort` changes the order: `updatedAt` (last "
        "activity) or `createdAt`, `order` `asc` or `desc`; with `q` (full-text search), the best matches come "
        "first unless `sort` says otherwise."
    ),
    "requestBody": json_body(
        QueryTicketsRequest,
        {
            "openTickets": {"summary": "Open and in-progress tickets, 50 a page", "value": {"status": ["open", "in_progress"], "limit": 50}},
            "nextPage": {
                "summary": "The next page (same filters, the previous page's nextCursor)",
                "value": {
                    "status": ["open", "in_progress"],
                    "limit": 50,
                    "cursor": "WzEsImMiLCIyMDI2LTExLTI1VDE0OjU4OjE3LjA1ODgwNSswMDowMCIsImExYjJjM2Q0LWU1ZjYtNzg5MC1hYmNkLWVmMTIzNDU2Nzg5MCIsIjBhMWIyYzNkNGU1ZjZhN2IiXQ",
                },
            },
            "byCustomer": {
                "summary": "A customer's tickets in a category",
                "value": {"customerEmail": "john.doe@example.com", "category": "connectivity"},
            },
            "changedSince": {
                "summary": "Tickets changed since a time (oldest change first)",
                "value": {"updatedAfter": "2026-11-25T15:00:00Z", "limit": 100},
            },
            "uncategorized": {"summary": "Uncategorized tickets", "value": {"category": "none"}},
            "search": {
                "summary": "Search: open tickets that mention firmware and the phrase 'not connecting', latest activity first",
                "value": {"q": "firmware \"not connecting\"", "status": "open", "sort": "updatedAt"},
            },
        },
    ),
    "responses": {
        "200": ok(
            "A page of tickets",
            QueryTicketsResponse,
            {"success": True, "tickets": [_SUMMARY_EXAMPLE], "nextCursor": None, "warnings": []},
        ),
        "400": error(
            "Invalid request: a bad filter, limit or cursor",
            _INVALID_JSON,
            _INVALID_BODY,
            {
                "error": "Invalid status 'closed'. Must be one of: open, in_progress, waiting_for_customer, resolved",
                "code": "invalid_status",
                "field": "status",
            },
            {
                "error": "Invalid priority 'critical'. Must be one of: low, medium, high, urgent",
                "code": "invalid_priority",
                "field": "priority",
            },
            {
                "error": "status must not be an empty list; leave it out to match every status",
                "code": "empty_field",
                "field": "status",
            },
            {"error": "limit must be an integer from 1 to 100 (got 500)", "code": "invalid_limit", "field": "limit"},
            {
                "error": "createdAfter must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z (got 'yesterday')",
                "code": "invalid_datetime",
                "field": "createdAfter",
            },
            {
                "error": "customerEmail is not a valid email address: An email address must have an @-sign.",
                "code": "invalid_email",
                "field": "customerEmail",
            },
            {
                "error": "cursor is not a cursor this API returned; send the nextCursor of the previous page unchanged, "
                "or leave cursor out to start from the first page",
                "code": "invalid_cursor",
                "field": "cursor",
            },
            {
                "error": "cursor belongs to a query with other filters; send the same filters as for the first page, "
                "or leave cursor out to start over",
                "code": "cursor_mismatch",
                "field": "cursor",
            },
            {"error": "category must be a string, got a number", "code": "invalid_type", "field": "category"},
        ),
        "401": _UNAUTHORIZED,
        "413": _TOO_LARGE,
        "500": _INTERNAL,
    },
    "security": SECURITY,
}

UPDATE_TICKET_OPENAPI: dict[str, Any] = {
    "description": (
        "Changes a ticket's `status`, `priority`, `category` and/or `assigneeId` (at least one). Resolving sets "
        "`resolvedAt`; any other status clears it (reopens). `category` must name an active category (ignoring "
        "case) and makes `categorySource` `provided`; `null` removes the category. `assigneeId` must be a team "
        "member of this organization; `null` unassigns. Answers with the updated ticket, as getTicket, and "
        "`changed`: the fields whose value changed (sending the current value is allowed and changes nothing)."
    ),
    "requestBody": json_body(
        UpdateTicketRequest,
        {
            "startWork": {
                "summary": "Take the ticket: in progress, assigned",
                "value": {"ticketId": _TICKET_ID, "status": "in_progress", "assigneeId": "mem_0a1b2c3d4e5f"},
            },
            "resolve": {"summary": "Resolve", "value": {"ticketId": _TICKET_ID, "status": "resolved"}},
            "recategorize": {
                "summary": "Correct the category and raise the priority",
                "value": {"ticketId": _TICKET_ID, "category": "Battery", "priority": "urgent"},
            },
            "unassign": {"summary": "Unassign", "value": {"ticketId": _TICKET_ID, "assigneeId": None}},
        },
    ),
    "responses": {
        "200": ok(
            "Ticket updated",
            UpdateTicketResponse,
            {
                "success": True,
                "message": "Ticket updated successfully",
                "changed": ["status", "assigneeId"],
                "ticket": _TICKET_EXAMPLE,
                "warnings": [],
            },
        ),
        "400": error(
            "Invalid request",
            _INVALID_JSON,
            _INVALID_BODY,
            {"error": "ticketId is required", "code": "missing_field", "field": "ticketId"},
            {
                "error": "Nothing to update: send at least one of status, priority, category, assigneeId",
                "code": "nothing_to_update",
            },
            {
                "error": "Invalid status 'closed'. Must be one of: open, in_progress, waiting_for_customer, resolved",
                "code": "invalid_status",
                "field": "status",
            },
            {
                "error": "Invalid priority 'critical'. Must be one of: low, medium, high, urgent",
                "code": "invalid_priority",
                "field": "priority",
            },
            {
                "error": "category must not be empty; send null to remove the ticket's category",
                "code": "empty_field",
                "field": "category",
            },
            {
                "error": "Category 'Legacy' is inactive; inactive categories cannot be given to tickets",
                "code": "category_inactive",
                "field": "category",
            },
            {"error": "status must not be null; it must be one of: open, in_progress, waiting_for_customer, resolved", "code": "invalid_type", "field": "status"},
        ),
        "401": _UNAUTHORIZED,
        "404": error(
            "The ticket, the category or the assignee is not this organization's",
            _TICKET_NOT_FOUND,
            {
                "error": "Category 'Firmware' not found in this organization",
                "code": "category_not_found",
                "field": "category",
            },
            {
                "error": "Assignee mem_0a1b2c3d4e5f is not a member of this organization",
                "code": "member_not_found",
                "field": "assigneeId",
            },
        ),
        "413": _TOO_LARGE,
        "500": _INTERNAL,
    },
    "security": SECURITY,
}

ADD_MESSAGE_OPENAPI: dict[str, Any] = {
    "description": (
        "Appends a message to the ticket's conversation, at the next position. A `customer` message on a "
        "resolved ticket reopens it (status `open`, `resolvedAt` cleared) and the response says `reopened: true`. "
        "Send an `Idempotency-Key` header to retry safely: the same key and body return the first response "
        "and add nothing more (keys are per endpoint: a createTicket key cannot be reused here)."
    ),
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Makes retries safe: kept for at least 24 hours.",
        }
    ],
    "requestBody": json_body(
        AddMessageRequest,
        {
            "agentReply": {
                "summary": "An agent's reply",
                "value": {"ticketId": _TICKET_ID, "role": "agent", "content": "Could you try resetting the network settings?"},
            },
            "customerReply": {
                "summary": "A customer's reply (reopens a resolved ticket)",
                "value": {"ticketId": _TICKET_ID, "role": "customer", "content": "It stopped working again this morning."},
            },
        },
    ),
    "responses": {
        "200": ok(
            "Message added",
            AddMessageResponse,
            {
                "success": True,
                "message": "Message added successfully",
                "messageId": 103,
                "position": 2,
                "ticketStatus": "open",
                "reopened": True,
                "warnings": [],
            },
        ),
        "400": error(
            "Invalid request",
            _INVALID_JSON,
            _INVALID_BODY,
            {"error": "content is required", "code": "missing_field", "field": "content"},
            {"error": "content must not be empty", "code": "empty_field", "field": "content"},
            {
                "error": "content must be at most 65536 bytes in UTF-8 (got 70000)",
                "code": "field_too_long",
                "field": "content",
            },
            {"error": "Invalid role 'admin'. Must be one of: customer, agent, bot", "code": "invalid_role", "field": "role"},
            {
                "error": "Idempotency-Key must be 1 to 255 printable characters",
                "code": "invalid_idempotency_key",
                "field": "Idempotency-Key",
            },
        ),
        "401": _UNAUTHORIZED,
        "404": error("No ticket with this id in this organization", _TICKET_NOT_FOUND),
        "413": _TOO_LARGE,
        "422": error(
            "Idempotency-Key reused with a different request body (or on another endpoint)",
            {
                "error": "This Idempotency-Key was already used with a different request body; use a new key for a new request",
                "code": "idempotency_key_reused",
                "field": "Idempotency-Key",
            },
        ),
        "500": _INTERNAL,
    },
    "security": SECURITY,
}

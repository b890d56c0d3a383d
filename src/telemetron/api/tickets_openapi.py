"""OpenAPI of the ticket endpoints: the user's document's examples and every error."""

from __future__ import annotations

from typing import Any

from telemetron.api.docs import SECURITY, error, json_body, ok
from telemetron.tickets.schemas import CreateTicketRequest, CreateTicketResponse

CREATE_TICKET_OPENAPI: dict[str, Any] = {
    "description": (
        "Creates a new support ticket. Requires either `customerEmail` or `customerId`. An unknown "
        "`customerEmail` creates the customer. `category` is matched ignoring case; when it is missing "
        "or unmatched the ticket is categorized automatically. Without a `description`, one is generated "
        "from `messages`. Send an `Idempotency-Key` header to retry safely: the same key and body return "
        "the first response and create nothing more."
    ),
    "responses": {
        "200": ok(
            "Ticket created successfully",
            CreateTicketResponse,
            {
                "success": True,
                "ticketId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                "message": "Ticket created successfully",
                "customerId": "cust_a1b2c3d4e5f6",
                "customerCreated": False,
                "category": "Connectivity",
                "categorySource": "provided",
                "status": "open",
                "descriptionGenerated": False,
                "warnings": [],
            },
        ),
        "400": error(
            "Invalid request (missing required fields, invalid JSON payload, or invalid priority)",
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
        }
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

"""OpenAPI of the customer endpoints: examples and every error.

The 401/413/500 entries and ``error`` are shared with the device endpoints (``devices_openapi``).
"""

from __future__ import annotations

from typing import Any

from telemetron.api import docs
from telemetron.api.docs import SECURITY, json_body, ok
from telemetron.customers.schemas import (
    CreateOrUpdateCustomerRequest,
    CreateOrUpdateCustomerResponse,
    CustomerRecord,
    QueryCustomerRequest,
)


def error(description: str, *examples: dict[str, Any]) -> dict[str, Any]:
    """``docs.error``, except that two examples with the same ``code`` are both kept (named code, code_2...)."""
    response = docs.error(description, *examples)
    named: dict[str, Any] = {}
    for example in examples:
        name, n = example["code"], 2
        while name in named:
            name, n = f"{example['code']}_{n}", n + 1
        named[name] = {"value": example}
    response["content"]["application/json"]["examples"] = named
    return response


UNAUTHORIZED = error(
    "Invalid or missing API key (checked before anything else)",
    {"error": "Invalid API key", "code": "invalid_api_key"},
    {"error": "Missing API key: send it in the x-api-key header", "code": "missing_api_key"},
)
TOO_LARGE = error(
    "Request body over the size limit (1 MiB by default)",
    {"error": "Request body is over the limit of 1048576 bytes", "code": "body_too_large"},
)
SERVER_ERROR = error(
    "Internal server error; the cause is logged under the X-Request-ID of the response",
    {"error": "Internal server error", "code": "internal_error", "requestId": "3f2c0c3e9d1b4c2a8f7e6d5c4b3a2910"},
)
INVALID_JSON = {
    "error": "Invalid JSON payload: unexpected character: line 1 column 2 (char 1)",
    "code": "invalid_json",
}
INVALID_BODY = {"error": "Request body must be a JSON object, got an array", "code": "invalid_body"}


def common_errors(*, body: bool = True) -> dict[str, Any]:
    responses = {"401": UNAUTHORIZED, "500": SERVER_ERROR}
    if body:
        responses["413"] = TOO_LARGE
    return responses


EMAIL_REQUIRED = {"error": "Email is required", "code": "missing_field", "field": "email"}
INVALID_EMAIL = {
    "error": "email is not a valid email address: An email address must have an @-sign.",
    "code": "invalid_email",
    "field": "email",
}

_RECORD_EXAMPLE = {
    "success": True,
    "message": "Customer retrieved successfully",
    "id": "cust_a1b2c3d4e5f6",
    "organizationId": "org_0f1e2d3c4b5a",
    "name": "John Doe",
    "email": "john.doe@example.com",
    "phone": "+1234567890",
    "address": "123 Main St, City, State 12345",
    "category": None,
    "devices": [{"deviceId": "dev_9a8b7c6d5e4f", "identifier": "SN-12345-ABCDE", "type": "Thermostat"}],
    "metadata": {},
    "createdAt": "2026-01-15T10:30:00.123456+00:00",
    "updatedAt": "2026-01-15T10:30:00.123456+00:00",
}

CREATE_OR_UPDATE_CUSTOMER_OPENAPI: dict[str, Any] = {
    "description": (
        "Without `telemetronCustomerId`, creates a customer: `name` defaults to the part of the email before "
        "`@`; if the organization already has a customer with this email the answer is 409 with that "
        "customer's `telemetronCustomerId`. With `telemetronCustomerId`, updates that customer: `email` is set, "
        "and `name`, `phone`, `address` and `category` change when given (missing or null leaves a field as "
        'it is; `""` clears `phone`, `address` or `category`). Changing the email to another customer\'s is a '
        "409 carrying that customer's id. Emails are trimmed and lower-cased. `category` must name an active "
        "category of the organization (matched ignoring case)."
    ),
    "responses": {
        "200": ok(
            "Customer created or updated",
            CreateOrUpdateCustomerResponse,
            {"success": True, "telemetronCustomerId": "cust_a1b2c3d4e5f6", "message": "Customer created successfully"},
        ),
        "400": error(
            "Invalid request",
            EMAIL_REQUIRED,
            INVALID_EMAIL,
            {"error": "name must be a string, got a number", "code": "invalid_type", "field": "name"},
            {"error": "phone must be at most 64 characters (got 80)", "code": "field_too_long", "field": "phone"},
            {
                "error": "category 'Shipping' matches no active category of this organization",
                "code": "unknown_category",
                "field": "category",
            },
            {
                "error": "address must not contain NUL (U+0000) characters",
                "code": "invalid_character",
                "field": "address",
            },
            INVALID_JSON,
            INVALID_BODY,
        ),
        "404": error(
            "telemetronCustomerId is not a customer of this organization",
            {
                "error": "Customer not found or does not belong to this organization",
                "code": "customer_not_found",
                "field": "telemetronCustomerId",
            },
        ),
        "409": error(
            "The organization already has a customer with this email",
            {
                "error": "A customer with this email already exists",
                "code": "customer_exists",
                "field": "email",
                "telemetronCustomerId": "cust_a1b2c3d4e5f6",
            },
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        CreateOrUpdateCustomerRequest,
        {
            "create": {
                "summary": "Create a customer",
                "value": {
                    "name": "John Doe",
                    "email": "john.doe@example.com",
                    "phone": "+1234567890",
                    "address": "123 Main St, City, State 12345",
                },
            },
            "update": {
                "summary": "Update a customer",
                "value": {
                    "telemetronCustomerId": "cust_a1b2c3d4e5f6",
                    "email": "john.doe@example.com",
                    "phone": "+1987654321",
                    "category": "VIP",
                },
            },
        },
    ),
}

QUERY_CUSTOMER_OPENAPI: dict[str, Any] = {
    "description": (
        "The customer with this email (case and surrounding spaces ignored), with the devices assigned to it."
    ),
    "responses": {
        "200": ok("The customer record", CustomerRecord, _RECORD_EXAMPLE),
        "400": error("Invalid request", EMAIL_REQUIRED, INVALID_EMAIL, INVALID_JSON, INVALID_BODY),
        "404": error(
            "The organization has no customer with this email",
            {"error": "Customer not found", "code": "customer_not_found", "field": "email"},
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        QueryCustomerRequest,
        {"byEmail": {"summary": "Query a customer by email", "value": {"email": "john.doe@example.com"}}},
    ),
}

_CUSTOMER_ID_REQUIRED = error(
    "The customer id is missing or blank",
    {"error": "Customer ID is required", "code": "missing_field", "field": "telemetronCustomerId"},
)

GET_CUSTOMER_OPENAPI: dict[str, Any] = {
    "description": "The customer with this id, with the devices assigned to it.",
    "parameters": [
        {
            "name": "telemetronCustomerId",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The customer's id (cust_ + 12 hex characters).",
            "example": "cust_a1b2c3d4e5f6",
        }
    ],
    "responses": {
        "200": ok("The customer record", CustomerRecord, _RECORD_EXAMPLE),
        "400": _CUSTOMER_ID_REQUIRED,
        "404": error(
            "Not a customer of this organization",
            {
                "error": "Customer not found or does not belong to this organization",
                "code": "customer_not_found",
                "field": "telemetronCustomerId",
            },
        ),
        **common_errors(body=False),
    },
    "security": SECURITY,
}

GET_CUSTOMER_WITHOUT_ID_OPENAPI: dict[str, Any] = {
    "description": (
        "getCustomer without an id (also reached from `/customer/getCustomer` by redirect): always 400 "
        '"Customer ID is required" for a valid key.'
    ),
    "responses": {"400": _CUSTOMER_ID_REQUIRED, **common_errors(body=False)},
    "security": SECURITY,
}

"""OpenAPI of the customer endpoints: what the models cannot say (descriptions, examples, errors)."""

from __future__ import annotations

from typing import Any

from telemetron.api.docs import operation, path_parameter, rejections
from telemetron.customers.schemas import (
    CreateOrUpdateCustomerRequest,
    CreateOrUpdateCustomerResponse,
    CustomerRecord,
    QueryCustomerRequest,
    parse_create_or_update,
    parse_customer_id,
    parse_query,
)
from telemetron.validation import NOT_BLANK

CUSTOMER_ID = "cust_a1b2c3d4e5f6"
EMAIL = "john.doe@example.com"
UNKNOWN_CATEGORY = {
    "error": "category 'Shipping' matches no active category of this organization",
    "code": "unknown_category",
    "field": "category",
}
_NOT_THEIRS = {
    "error": "Customer not found or does not belong to this organization",
    "code": "customer_not_found",
    "field": "telemetronCustomerId",
}
_RECORD_EXAMPLE = {
    "success": True,
    "message": "Customer retrieved successfully",
    "id": CUSTOMER_ID,
    "organizationId": "org_0f1e2d3c4b5a",
    "name": "John Doe",
    "email": EMAIL,
    "phone": "+1234567890",
    "address": "123 Main St, City, State 12345",
    "category": None,
    "devices": [{"deviceId": "dev_9a8b7c6d5e4f", "identifier": "SN-12345-ABCDE", "type": "Thermostat"}],
    "metadata": {},
    "createdAt": "2026-01-15T10:30:00.123456+00:00",
    "updatedAt": "2026-01-15T10:30:00.123456+00:00",
}

CREATE_OR_UPDATE_CUSTOMER_OPENAPI: dict[str, Any] = operation(
    description=(
        "Without `telemetronCustomerId`, creates a customer: `name` defaults to the part of the email before "
        "`@`; if the organization already has a customer with this email the answer is 409 with that "
        "customer's `telemetronCustomerId`. With `telemetronCustomerId`, updates that customer: `email` is set, "
        "and `name`, `phone`, `address` and `category` change when given (missing or null leaves a field as "
        'it is; `""` clears `phone`, `address` or `category`). Changing the email to another customer\'s is a '
        "409 carrying that customer's id. Emails are trimmed and lower-cased. `category` must name an active "
        "category of the organization (matched ignoring case): another name is a 400."
    ),
    ok=("Customer created or updated", CreateOrUpdateCustomerResponse,
        {"success": True, "telemetronCustomerId": CUSTOMER_ID, "message": "Customer created successfully"}),
    request=CreateOrUpdateCustomerRequest,
    examples={
        "create": ("Create a customer", {"name": "John Doe", "email": EMAIL, "phone": "+1234567890",
                                         "address": "123 Main St, City, State 12345"}),
        "update": ("Update a customer", {"telemetronCustomerId": CUSTOMER_ID, "email": EMAIL,
                                         "phone": "+1987654321", "category": "VIP"}),
    },
    invalid=[
        *rejections(parse_create_or_update, {}, {"email": "john.doe@"}, {"email": EMAIL, "name": 5},
                    {"email": EMAIL, "phone": "1" * 80}, {"email": EMAIL, "address": "a\u0000b"}),
        UNKNOWN_CATEGORY,
    ],
    errors={
        404: ("telemetronCustomerId is not a customer of this organization", [_NOT_THEIRS]),
        409: ("The organization already has a customer with this email", [{
            "error": "A customer with this email already exists",
            "code": "customer_exists",
            "field": "email",
            "telemetronCustomerId": CUSTOMER_ID,
        }]),
    },
)

QUERY_CUSTOMER_OPENAPI: dict[str, Any] = operation(
    description="The customer with this email (case and surrounding spaces ignored), with the devices assigned to it.",
    ok=("The customer record", CustomerRecord, _RECORD_EXAMPLE),
    request=QueryCustomerRequest,
    examples={"byEmail": ("Query a customer by email", {"email": EMAIL})},
    invalid=rejections(parse_query, {}, {"email": "john.doe@"}),
    errors={404: ("The organization has no customer with this email",
                  [{"error": "Customer not found", "code": "customer_not_found", "field": "email"}])},
)

GET_CUSTOMER_OPENAPI: dict[str, Any] = operation(
    description="The customer with this id, with the devices assigned to it.",
    ok=("The customer record", CustomerRecord, _RECORD_EXAMPLE),
    # not blank, and one path segment
    parameters=[path_parameter("telemetronCustomerId", {"type": "string", "pattern": NOT_BLANK.replace("\\u0000", "\\u0000/")},
                               "The customer's id (cust_ + 12 hex characters).", CUSTOMER_ID)],
    invalid=rejections(lambda params: parse_customer_id(params["telemetronCustomerId"]),
                       {"telemetronCustomerId": " "}),
    errors={404: ("Not a customer of this organization", [_NOT_THEIRS])},
)

GET_CUSTOMER_WITHOUT_ID_OPENAPI: dict[str, Any] = operation(
    description=(
        "getCustomer without an id (also reached from `/customer/getCustomer` by redirect): always 400 "
        '"Customer ID is required" for a valid key, as the ext-v1 specification says.'
    ),
    ok=None,
    invalid=rejections(parse_customer_id, None),
)

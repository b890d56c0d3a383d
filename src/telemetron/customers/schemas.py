"""Requests and responses of the ext-v1 customer endpoints, as tests/spec/telemetron-ext-v1.md defines them.

The request models validate (strictly, unknown fields ignored; see ``customers.validation``) and
document the endpoints in OpenAPI; the ``parse_*`` functions add the rules a model cannot say
(trimming, "blank is missing") and return plain values for the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from telemetron.customers.service import normalize_email
from telemetron.customers.validation import Text, parse_body, trimmed
from telemetron.errors import InvalidRequest
from telemetron.validation import EMAIL, NOT_BLANK, Documented

MAX_NAME = 255  # customers.name
MAX_PHONE = 64  # customers.phone
MAX_ADDRESS = 2000  # customers.address is TEXT; a sane bound for a postal address
MAX_EMAIL = 320  # customers.email
MAX_VALID_EMAIL = 254  # what the email syntax check accepts
MAX_CATEGORY = 255
MAX_ID = 64  # customer ids are 17 characters; anything much longer is not one

EMAIL_REQUIRED = "Email is required"
CUSTOMER_ID_REQUIRED = "Customer ID is required"
_EMAIL_MESSAGES = {("email", "missing"): (EMAIL_REQUIRED, "missing_field")}


# An email address (trimmed and lower-cased by its parser) and a device's identifier, as the
# customer and device endpoints take them.
EmailText = Annotated[Text, Documented(**EMAIL, maxLength=MAX_VALID_EMAIL)]
IdentifierText = Annotated[Text, Documented(pattern=NOT_BLANK)]


_KEEP_OR_CLEAR = '{}. Missing or null leaves it unchanged; "" clears it.'
CATEGORY_NAME = ("Name of an active category of the organization, matched ignoring case and surrounding spaces. "
                 'Missing or null leaves it unchanged; "" clears it. Another name is a 404.')


class StrictRequest(BaseModel):
    """A request body of the customer and device endpoints: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class CreateOrUpdateCustomerRequest(StrictRequest):
    """Without ``telemetronCustomerId`` creates a customer; with it, updates that customer."""

    email: EmailText = Field(max_length=MAX_EMAIL, description=(
        "The customer's email address, unique per organization; trimmed and lower-cased."))
    name: Text | None = Field(None, max_length=MAX_NAME, description=(
        "Full name. Defaults to the part of the email before '@' when creating; missing, null or blank leaves "
        "it unchanged when updating."))
    phone: Text | None = Field(None, max_length=MAX_PHONE, description=_KEEP_OR_CLEAR.format("Phone number"))
    address: Text | None = Field(None, max_length=MAX_ADDRESS, description=_KEEP_OR_CLEAR.format("Postal address"))
    telemetronCustomerId: Text | None = Field(None, max_length=MAX_ID, description=(
        "Id of the customer to update (cust_ + 12 hex characters). Missing, null or blank: create."))
    category: Text | None = Field(None, max_length=MAX_CATEGORY, description=CATEGORY_NAME)


class QueryCustomerRequest(StrictRequest):
    email: EmailText = Field(max_length=MAX_EMAIL, description="The customer's email address; case is ignored.")


@dataclass(slots=True)
class CustomerChanges:
    """A validated createOrUpdateCustomer request.

    For the optional fields None means "leave as is" and "" means "clear" (name cannot be cleared).
    """

    email: str
    customer_id: str | None
    name: str | None
    phone: str | None
    address: str | None
    category: str | None


def _optional(value: str | None) -> str | None:
    """None stays None (unchanged); anything else is trimmed ("" clears)."""
    return None if value is None else value.strip()


def parse_create_or_update(body: Any) -> CustomerChanges:
    request = parse_body(CreateOrUpdateCustomerRequest, body, messages=_EMAIL_MESSAGES)
    if not request.email.strip():
        raise InvalidRequest(EMAIL_REQUIRED, field="email", code="missing_field")
    return CustomerChanges(
        email=normalize_email(request.email, field="email"),
        customer_id=trimmed(request.telemetronCustomerId),
        name=trimmed(request.name),
        phone=_optional(request.phone),
        address=_optional(request.address),
        category=_optional(request.category),
    )


def parse_query(body: Any) -> str:
    """The normalized email of a queryCustomer request."""
    request = parse_body(QueryCustomerRequest, body, messages=_EMAIL_MESSAGES)
    if not request.email.strip():
        raise InvalidRequest(EMAIL_REQUIRED, field="email", code="missing_field")
    return normalize_email(request.email, field="email")


def parse_customer_id(raw: str | None) -> str:
    """The path parameter of getCustomer: trimmed, non-blank."""
    customer_id = trimmed(raw)
    if customer_id is None:
        raise InvalidRequest(CUSTOMER_ID_REQUIRED, field="telemetronCustomerId", code="missing_field")
    if "\x00" in customer_id:
        raise InvalidRequest(
            "telemetronCustomerId must not contain NUL (U+0000) characters",
            field="telemetronCustomerId",
            code="invalid_character",
        )
    return customer_id


# --- responses (documentation) -----------------------------------------------------------------


class CreateOrUpdateCustomerResponse(BaseModel):
    success: Literal[True] = True
    telemetronCustomerId: str = Field(description="The customer's id (cust_ + 12 hex characters).")
    message: Literal["Customer created successfully", "Customer updated successfully"]


class CustomerDevice(BaseModel):
    deviceId: str = Field(description="The device's id (dev_ + 12 hex characters).")
    identifier: str = Field(description="The client's identifier of the device (serial number, MAC...).")
    type: str = Field(description="The device type.")


class CustomerRecord(BaseModel):
    success: Literal[True] = True
    message: str = "Customer retrieved successfully"
    id: str = Field(description="The customer's id (telemetronCustomerId).")
    organizationId: str = Field(description="The organization the customer belongs to.")
    name: str
    email: str = Field(description="Trimmed and lower-cased.")
    phone: str | None
    address: str | None
    category: str | None = Field(description="The customer's category, or null.")
    devices: list[CustomerDevice] = Field(description="Devices assigned to the customer, by identifier.")
    metadata: dict[str, Any]
    createdAt: str = Field(description="ISO 8601, UTC.")
    updatedAt: str = Field(description="ISO 8601, UTC.")

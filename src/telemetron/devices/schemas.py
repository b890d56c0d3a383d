"""Requests and responses of the ext-v1 device and device-assignment endpoints.

The request models validate (strictly, unknown fields ignored; see ``customers.validation``) and
document the endpoints in OpenAPI; the ``parse_*`` functions add what a model cannot say
(identifiers and emails trimmed, duplicates folded, "deviceType is required when
autoCreateDevice is true") and return plain values for the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from telemetron.customers.schemas import (
    CATEGORY_NAME,
    MAX_CATEGORY,
    MAX_EMAIL,
    EmailText,
    IdentifierText,
    StrictRequest,
)
from telemetron.customers.service import normalize_email
from telemetron.customers.validation import JsonObject, Text, parse_body, require_text, trimmed
from telemetron.errors import AppError, InvalidRequest
from telemetron.validation import EMAIL, NOT_BLANK

MAX_IDENTIFIER = 255  # devices.identifier
MAX_TYPE = 255  # devices.type
MAX_DEVICES = 1000  # per bulk request, as the ext-v1 specification's bulk-metadata
MAX_EMAILS = 1000

INVALID_JSON = "Invalid JSON payload"
TOO_MANY_DEVICES = f"Too many devices. Maximum {MAX_DEVICES} per request"
TOO_MANY_EMAILS = f"Too many customer emails. Maximum {MAX_EMAILS} per request"


# An identifier inside a list (the list's own Field bounds its length, not its items').
IdentifierItem = Annotated[IdentifierText, Field(max_length=MAX_IDENTIFIER)]


def _type_required_when(flag: str) -> ConfigDict:
    """The request's schema says what ``_required_type`` checks: ``deviceType`` with ``flag`` true."""
    return ConfigDict(json_schema_extra={
        "if": {"required": [flag], "properties": {flag: {"const": True}}},
        "then": {"required": ["deviceType"], "properties": {"deviceType": {"type": "string", "pattern": NOT_BLANK}}},
    })


# --- POST /device ------------------------------------------------------------------------------


class DeviceRequest(StrictRequest):
    """Creates the device with this identifier, or updates it if the organization has it."""


    identifier: IdentifierText = Field(
        max_length=MAX_IDENTIFIER,
        description="The device's identifier (serial number, MAC...), unique per organization; trimmed.",
    )
    type: Text | None = Field(
        None,
        max_length=MAX_TYPE,
        description="Device type (sensor, gateway, Thermostat...). Required when creating; "
        "missing, null or blank leaves it unchanged when updating.",
    )
    properties: JsonObject | None = Field(
        None,
        description="Any JSON object. Replaces the device's properties when given; missing or null leaves them.",
    )
    category: Text | None = Field(None, max_length=MAX_CATEGORY, description=CATEGORY_NAME)


@dataclass(slots=True)
class DeviceChanges:
    identifier: str
    type: str | None  # None: unchanged (required when creating)
    properties: dict[str, Any] | None  # None: unchanged
    category: str | None  # None: unchanged, "": clear


def parse_device(body: Any) -> DeviceChanges:
    request = parse_body(DeviceRequest, body)
    return DeviceChanges(
        identifier=require_text(request.identifier, field="identifier"),
        type=trimmed(request.type),
        properties=request.properties,
        category=None if request.category is None else request.category.strip(),
    )


# --- POST /device/bulk-metadata ----------------------------------------------------------------


class BulkMetadataRequest(StrictRequest):
    """Replaces the metadata of existing devices, by identifier (1 to 1000 per request)."""


    devices: dict[str, JsonObject] = Field(
        description="Map of device identifier (trimmed) to its new metadata object, which replaces the old "
        "one whole. 1 to 1000 devices; unknown identifiers are reported as not_found, never created.",
        json_schema_extra={"minProperties": 1, "maxProperties": MAX_DEVICES, "propertyNames": {"pattern": NOT_BLANK}},
    )


def parse_bulk_metadata(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """(identifier, metadata) pairs in request order.

    Keys are trimmed; a blank key, a key with a NUL character, or two keys that are the same
    identifier once trimmed are refused (400): which metadata should win would be a guess.
    """
    request = parse_body(BulkMetadataRequest, body, prefix=f"{INVALID_JSON}: ")
    if not request.devices:
        raise InvalidRequest(
            f"{INVALID_JSON}: devices must name at least one device", field="devices", code="empty_field"
        )
    if len(request.devices) > MAX_DEVICES:
        raise InvalidRequest(TOO_MANY_DEVICES, field="devices", code="too_many_devices")
    pairs: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for raw, metadata in request.devices.items():
        identifier = raw.strip()
        if not identifier:
            raise InvalidRequest(
                f"{INVALID_JSON}: devices has a blank device identifier ({raw!r})", field="devices", code="empty_field"
            )
        if "\x00" in identifier:
            raise InvalidRequest(
                f"{INVALID_JSON}: device identifier {raw!r} contains a NUL (U+0000) character",
                field="devices",
                code="invalid_character",
            )
        if identifier in seen:
            raise InvalidRequest(
                f"{INVALID_JSON}: devices names {identifier!r} twice ({seen[identifier]!r} and {raw!r}, "
                "identifiers are trimmed)",
                field="devices",
                code="duplicate_identifier",
            )
        seen[identifier] = raw
        pairs.append((identifier, metadata))
    return pairs


# --- device assignment -------------------------------------------------------------------------


class AssignDeviceToOwnersRequest(StrictRequest):
    model_config = _type_required_when("autoCreateDevice")

    deviceIdentifier: IdentifierText = Field(max_length=MAX_IDENTIFIER, description="The device's identifier; trimmed.")
    customerEmails: list[str] = Field(
        min_length=1,
        max_length=MAX_EMAILS,
        description="1 to 1000 emails, at least one of them valid; trimmed and lower-cased. Unknown customers "
        "are created; invalid emails are skipped and listed in skippedEmails.",
        json_schema_extra={"contains": {"type": "string", **EMAIL}},
    )
    autoCreateDevice: bool | None = Field(
        False, description="Create the device if the organization has none with this identifier."
    )
    deviceType: Text | None = Field(
        None, max_length=MAX_TYPE, description="Required when autoCreateDevice is true: the new device's type."
    )


class AssignDevicesToOwnerRequest(StrictRequest):
    model_config = _type_required_when("autoCreateDevices")

    customerEmail: EmailText = Field(
        max_length=MAX_EMAIL, description="The owner's email; an unknown customer is created."
    )
    deviceIdentifiers: list[IdentifierItem] = Field(
        min_length=1, max_length=MAX_DEVICES, description="1 to 1000 device identifiers; trimmed."
    )
    autoCreateDevices: bool | None = Field(False, description="Create the devices the organization does not have.")
    deviceType: Text | None = Field(
        None, max_length=MAX_TYPE, description="Required when autoCreateDevices is true: the new devices' type."
    )


class UnassignDeviceFromOwnerRequest(StrictRequest):
    deviceIdentifier: IdentifierText = Field(max_length=MAX_IDENTIFIER, description="The device's identifier; trimmed.")
    customerEmail: EmailText = Field(max_length=MAX_EMAIL, description="The owner's email; case is ignored.")


class UnassignDevicesFromOwnerRequest(StrictRequest):
    customerEmail: EmailText = Field(max_length=MAX_EMAIL, description="The owner's email; case is ignored.")
    deviceIdentifiers: list[IdentifierItem] = Field(
        min_length=1, max_length=MAX_DEVICES, description="1 to 1000 device identifiers; trimmed."
    )


_TOO_MANY = {
    ("customerEmails", "too_long"): (TOO_MANY_EMAILS, "too_many_emails"),
    ("deviceIdentifiers", "too_long"): (TOO_MANY_DEVICES, "too_many_devices"),
}


@dataclass(slots=True)
class AssignToOwners:
    identifier: str
    emails: list[str]  # normalized, duplicates folded, in request order
    skipped_emails: list[str]  # as sent
    auto_create: bool
    device_type: str | None


@dataclass(slots=True)
class AssignToOwner:
    email: str
    identifiers: list[str]  # trimmed, duplicates folded, in request order
    auto_create: bool
    device_type: str | None


@dataclass(slots=True)
class UnassignFromOwner:
    email: str
    identifiers: list[str]


def _required_type(auto_create: bool, device_type: str | None, flag: str) -> str | None:
    device_type = trimmed(device_type)
    if auto_create and device_type is None:
        raise InvalidRequest(f"deviceType is required when {flag} is true", field="deviceType", code="missing_field")
    return device_type if auto_create else None


def _identifiers(raw: list[str], field: str) -> list[str]:
    out: dict[str, None] = {}
    for i, value in enumerate(raw):
        out.setdefault(require_text(value, field=f"{field}[{i}]"), None)
    return list(out)


def _email(raw: str, field: str) -> str:
    if not raw.strip():
        raise InvalidRequest(f"{field} is required", field=field, code="missing_field")
    return normalize_email(raw, field=field)


def parse_assign_device_to_owners(body: Any) -> AssignToOwners:
    request = parse_body(AssignDeviceToOwnersRequest, body, messages=_TOO_MANY)
    auto_create = bool(request.autoCreateDevice)
    device_type = _required_type(auto_create, request.deviceType, "autoCreateDevice")
    identifier = require_text(request.deviceIdentifier, field="deviceIdentifier")
    emails: dict[str, None] = {}
    skipped: list[str] = []
    for raw in request.customerEmails:
        try:
            emails.setdefault(normalize_email(raw, field="customerEmails"), None)
        except AppError:
            skipped.append(raw)
    if not emails:
        raise InvalidRequest(
            "customerEmails holds no valid email address",
            field="customerEmails",
            code="no_valid_emails",
            skippedEmails=skipped,
        )
    return AssignToOwners(identifier, list(emails), skipped, auto_create, device_type)


def parse_assign_devices_to_owner(body: Any) -> AssignToOwner:
    request = parse_body(AssignDevicesToOwnerRequest, body, messages=_TOO_MANY)
    auto_create = bool(request.autoCreateDevices)
    device_type = _required_type(auto_create, request.deviceType, "autoCreateDevices")
    email = _email(request.customerEmail, "customerEmail")
    return AssignToOwner(email, _identifiers(request.deviceIdentifiers, "deviceIdentifiers"), auto_create, device_type)


def parse_unassign_device(body: Any) -> tuple[str, str]:
    """(email, identifier)."""
    request = parse_body(UnassignDeviceFromOwnerRequest, body)
    identifier = require_text(request.deviceIdentifier, field="deviceIdentifier")
    return _email(request.customerEmail, "customerEmail"), identifier


def parse_unassign_devices(body: Any) -> UnassignFromOwner:
    request = parse_body(UnassignDevicesFromOwnerRequest, body, messages=_TOO_MANY)
    email = _email(request.customerEmail, "customerEmail")
    return UnassignFromOwner(email, _identifiers(request.deviceIdentifiers, "deviceIdentifiers"))


# --- responses (documentation) -----------------------------------------------------------------


class Succeeded(BaseModel):
    """What every answer of these endpoints starts with."""

    success: Literal[True] = True
    message: str


class DeviceResponse(Succeeded):
    message: Literal["Device created successfully", "Device updated successfully"]
    deviceId: str = Field(description="The device's id (dev_ + 12 hex characters).")
    identifier: str
    type: str
    category: str | None = Field(description="The device's category, or null.")
    deviceWasCreated: bool = Field(description="Whether this request created the device.")


class BulkMetadataResult(BaseModel):
    identifier: str = Field(description="The identifier, trimmed.")
    deviceId: str = Field(description='The device\'s id, or "" when not found.')
    status: Literal["updated", "not_found"]


class BulkMetadataResponse(Succeeded):
    updated: int
    notFound: int
    results: list[BulkMetadataResult] = Field(description="One per device, in request order.")


class AssignedCustomer(BaseModel):
    email: str = Field(description="Trimmed and lower-cased.")
    customerId: str
    wasCreated: bool = Field(description="Whether this request created the customer.")
    alreadyAssigned: bool = Field(description="Whether the device was already assigned to this customer.")


class AssignDeviceToOwnersResponse(Succeeded):
    deviceId: str
    deviceIdentifier: str
    deviceWasCreated: bool
    assignedCustomers: list[AssignedCustomer] = Field(description="One per distinct valid email, in request order.")
    skippedEmails: list[str] = Field(description="The invalid emails, as sent; nothing was done for them.")


class OwnerChanged(Succeeded):
    """An answer about one customer's devices."""

    customerId: str


class AssignDevicesToOwnerResponse(OwnerChanged):
    customerWasCreated: bool
    assignedDevices: list[str] = Field(description="Identifiers newly assigned to the customer by this request.")
    alreadyAssigned: list[str] = Field(description="Identifiers that were already assigned to the customer.")
    createdDevices: list[str] = Field(description="Identifiers of the devices this request created (autoCreateDevices).")
    skipped: list[str] = Field(description="Identifiers of devices the organization does not have (not created).")


_REMAINING = "Identifiers of the devices still assigned to the customer."


class UnassignDeviceResponse(OwnerChanged):
    deviceIdentifier: str
    devicesRemaining: list[str] = Field(description=_REMAINING)


class UnassignDevicesResponse(OwnerChanged):
    unassignedDevices: list[str] = Field(description="Identifiers unassigned by this request.")
    skipped: list[str] = Field(
        description="Identifiers that were not assigned to the customer, or that the organization does not have."
    )
    devicesRemaining: list[str] = Field(description=_REMAINING)

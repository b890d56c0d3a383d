"""OpenAPI of the device and device-assignment endpoints: examples and every error."""

from __future__ import annotations

from typing import Any

from telemetron.api.customers_openapi import INVALID_BODY, INVALID_JSON, common_errors, error
from telemetron.api.docs import SECURITY, json_body, ok
from telemetron.devices.schemas import (
    AssignDevicesToOwnerRequest,
    AssignDevicesToOwnerResponse,
    AssignDeviceToOwnersRequest,
    AssignDeviceToOwnersResponse,
    BulkMetadataRequest,
    BulkMetadataResponse,
    DeviceRequest,
    DeviceResponse,
    UnassignDeviceFromOwnerRequest,
    UnassignDeviceResponse,
    UnassignDevicesFromOwnerRequest,
    UnassignDevicesResponse,
)

_CUSTOMER_NOT_FOUND = {"error": "Customer not found", "code": "customer_not_found", "field": "customerEmail"}
_DEVICE_NOT_FOUND = {"error": "Device not found", "code": "device_not_found", "field": "deviceIdentifier"}
_TOO_MANY_DEVICES = {
    "error": "Too many devices. Maximum 1000 per request",
    "code": "too_many_devices",
    "field": "deviceIdentifiers",
}
_INVALID_CUSTOMER_EMAIL = {
    "error": "customerEmail is not a valid email address: An email address must have an @-sign.",
    "code": "invalid_email",
    "field": "customerEmail",
}


def _device_type_required(flag: str) -> dict[str, Any]:
    return {"error": f"deviceType is required when {flag} is true", "code": "missing_field", "field": "deviceType"}


DEVICE_OPENAPI: dict[str, Any] = {
    "description": (
        "Creates the device with this `identifier` (trimmed), or updates it if the organization has it. "
        "Creating needs `type`. When updating, `type` and `category` change when given (`\"\"` clears the "
        "category), `properties` replace the old properties whole when given, and missing or null fields are "
        "left as they are. `category` must name an active category of the organization (matched ignoring case)."
    ),
    "responses": {
        "200": ok(
            "Device created or updated",
            DeviceResponse,
            {
                "success": True,
                "message": "Device created successfully",
                "deviceId": "dev_9a8b7c6d5e4f",
                "identifier": "sensor-001",
                "type": "sensor",
                "category": None,
                "deviceWasCreated": True,
            },
        ),
        "400": error(
            "Invalid request",
            {"error": "identifier is required", "code": "missing_field", "field": "identifier"},
            {"error": "identifier must not be empty", "code": "empty_field", "field": "identifier"},
            {
                "error": "type is required when creating a device (this organization has no device 'sensor-001')",
                "code": "missing_field",
                "field": "type",
            },
            {"error": "properties must be an object, got an array", "code": "invalid_type", "field": "properties"},
            {
                "error": "identifier must be at most 255 characters (got 300)",
                "code": "field_too_long",
                "field": "identifier",
            },
            {
                "error": "category 'Shipping' matches no active category of this organization",
                "code": "unknown_category",
                "field": "category",
            },
            INVALID_JSON,
            INVALID_BODY,
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        DeviceRequest,
        {
            "create": {
                "summary": "Create a device",
                "value": {
                    "identifier": "sensor-001",
                    "type": "sensor",
                    "properties": {"location": "Building A", "firmware": "v2.1.0", "model": "TM-500"},
                },
            },
            "update": {
                "summary": "Update a device's properties",
                "value": {"identifier": "sensor-001", "properties": {"location": "Building B", "firmware": "v2.2.0"}},
            },
        },
    ),
}

BULK_METADATA_OPENAPI: dict[str, Any] = {
    "description": (
        "Replaces (does not merge) the metadata of up to 1000 existing devices, keyed by identifier "
        "(trimmed). Devices are never created: identifiers the organization does not have are reported "
        '`not_found` with `deviceId` "". `results` follow the order of the request.'
    ),
    "responses": {
        "200": ok(
            "Metadata replaced",
            BulkMetadataResponse,
            {
                "success": True,
                "message": "Metadata replaced for 1 device(s); 1 not found",
                "updated": 1,
                "notFound": 1,
                "results": [
                    {"identifier": "sensor-001", "deviceId": "dev_9a8b7c6d5e4f", "status": "updated"},
                    {"identifier": "sensor-404", "deviceId": "", "status": "not_found"},
                ],
            },
        ),
        "400": error(
            "Invalid request",
            INVALID_JSON,
            {
                "error": "Invalid JSON payload: devices is required",
                "code": "missing_field",
                "field": "devices",
            },
            {
                "error": "Invalid JSON payload: devices must be an object, got an array",
                "code": "invalid_type",
                "field": "devices",
            },
            {
                "error": "Invalid JSON payload: devices.sensor-001 must be an object, got a string",
                "code": "invalid_type",
                "field": "devices.sensor-001",
            },
            {
                "error": "Invalid JSON payload: devices must name at least one device",
                "code": "empty_field",
                "field": "devices",
            },
            {
                "error": "Invalid JSON payload: devices names 'sensor-001' twice ('sensor-001' and ' sensor-001', "
                "identifiers are trimmed)",
                "code": "duplicate_identifier",
                "field": "devices",
            },
            {"error": "Too many devices. Maximum 1000 per request", "code": "too_many_devices", "field": "devices"},
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        BulkMetadataRequest,
        {
            "replace": {
                "summary": "Replace the metadata of two devices",
                "value": {
                    "devices": {
                        "sensor-001": {"firmware": "v2.2.0", "lastSeen": "2026-01-15T10:30:00Z"},
                        "sensor-002": {"firmware": "v2.1.9", "battery": 87},
                    }
                },
            }
        },
    ),
}

ASSIGN_DEVICE_TO_OWNERS_OPENAPI: dict[str, Any] = {
    "description": (
        "Assigns the device to each customer of `customerEmails` (trimmed, lower-cased, duplicates folded). "
        "Unknown customers are created; invalid emails are skipped and listed in `skippedEmails` (if none is "
        "valid: 400). Idempotent: an existing assignment is kept and reported `alreadyAssigned`. Without "
        "`autoCreateDevice`, a device the organization does not have is a 404; with it the device is created "
        "with `deviceType` (required whenever `autoCreateDevice` is true; an existing device keeps its type)."
    ),
    "responses": {
        "200": ok(
            "Device assigned",
            AssignDeviceToOwnersResponse,
            {
                "success": True,
                "message": "Device assigned successfully",
                "deviceId": "dev_9a8b7c6d5e4f",
                "deviceIdentifier": "SN-12345-ABCDE",
                "deviceWasCreated": True,
                "assignedCustomers": [
                    {
                        "email": "john.doe@example.com",
                        "customerId": "cust_a1b2c3d4e5f6",
                        "wasCreated": False,
                        "alreadyAssigned": False,
                    },
                    {
                        "email": "jane.doe@example.com",
                        "customerId": "cust_0f668bda541d",
                        "wasCreated": True,
                        "alreadyAssigned": False,
                    },
                ],
                "skippedEmails": ["not-an-email"],
            },
        ),
        "400": error(
            "Invalid request",
            {"error": "deviceIdentifier is required", "code": "missing_field", "field": "deviceIdentifier"},
            {"error": "customerEmails must not be empty", "code": "empty_field", "field": "customerEmails"},
            {
                "error": "customerEmails holds no valid email address",
                "code": "no_valid_emails",
                "field": "customerEmails",
                "skippedEmails": ["not-an-email"],
            },
            {
                "error": "Too many customer emails. Maximum 1000 per request",
                "code": "too_many_emails",
                "field": "customerEmails",
            },
            _device_type_required("autoCreateDevice"),
            {
                "error": "autoCreateDevice must be a boolean, got a string",
                "code": "invalid_type",
                "field": "autoCreateDevice",
            },
            INVALID_JSON,
            INVALID_BODY,
        ),
        "404": error("The organization has no such device and autoCreateDevice is false", _DEVICE_NOT_FOUND),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        AssignDeviceToOwnersRequest,
        {
            "assign": {
                "summary": "Assign a device to two customers, creating it if needed",
                "value": {
                    "deviceIdentifier": "SN-12345-ABCDE",
                    "customerEmails": ["john.doe@example.com", "jane.doe@example.com"],
                    "autoCreateDevice": True,
                    "deviceType": "Thermostat",
                },
            },
            "existing": {
                "summary": "Assign an existing device",
                "value": {"deviceIdentifier": "SN-12345-ABCDE", "customerEmails": ["john.doe@example.com"]},
            },
        },
    ),
}

ASSIGN_DEVICES_TO_OWNER_OPENAPI: dict[str, Any] = {
    "description": (
        "Assigns several devices (identifiers trimmed, duplicates folded) to one customer, created if the "
        "organization does not have it. Devices the organization does not have are created with "
        "`autoCreateDevices` (and `deviceType`, then required) and listed in `skipped` without it. Idempotent: "
        "devices already assigned are listed in `alreadyAssigned`. Lists follow the order of the request."
    ),
    "responses": {
        "200": ok(
            "Devices assigned",
            AssignDevicesToOwnerResponse,
            {
                "success": True,
                "message": "Devices assigned successfully",
                "customerId": "cust_a1b2c3d4e5f6",
                "customerWasCreated": False,
                "assignedDevices": ["SN-12345-ABCDE"],
                "alreadyAssigned": ["SN-67890-FGHIJ"],
                "createdDevices": [],
                "skipped": ["SN-00000-NOPE"],
            },
        ),
        "400": error(
            "Invalid request",
            {"error": "customerEmail is required", "code": "missing_field", "field": "customerEmail"},
            _INVALID_CUSTOMER_EMAIL,
            {"error": "deviceIdentifiers must not be empty", "code": "empty_field", "field": "deviceIdentifiers"},
            {"error": "deviceIdentifiers[1] must not be empty", "code": "empty_field", "field": "deviceIdentifiers[1]"},
            _TOO_MANY_DEVICES,
            _device_type_required("autoCreateDevices"),
            INVALID_JSON,
            INVALID_BODY,
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        AssignDevicesToOwnerRequest,
        {
            "assign": {
                "summary": "Assign two devices to a customer",
                "value": {
                    "customerEmail": "john.doe@example.com",
                    "deviceIdentifiers": ["SN-12345-ABCDE", "SN-67890-FGHIJ"],
                },
            },
            "autoCreate": {
                "summary": "Assign devices, creating those that do not exist",
                "value": {
                    "customerEmail": "john.doe@example.com",
                    "deviceIdentifiers": ["SN-12345-ABCDE", "SN-67890-FGHIJ"],
                    "autoCreateDevices": True,
                    "deviceType": "Thermostat",
                },
            },
        },
    ),
}

UNASSIGN_DEVICE_FROM_OWNER_OPENAPI: dict[str, Any] = {
    "description": (
        "Removes the assignment of the device to the customer; both remain. An unknown customer or device is "
        "a 404 (nothing is created); a device not assigned to the customer is a 404 that lists the customer's "
        "`currentDevices`."
    ),
    "responses": {
        "200": ok(
            "Device unassigned",
            UnassignDeviceResponse,
            {
                "success": True,
                "message": "Device unassigned successfully",
                "customerId": "cust_a1b2c3d4e5f6",
                "deviceIdentifier": "SN-12345-ABCDE",
                "devicesRemaining": ["SN-67890-FGHIJ"],
            },
        ),
        "400": error(
            "Invalid request",
            {"error": "deviceIdentifier is required", "code": "missing_field", "field": "deviceIdentifier"},
            {"error": "customerEmail is required", "code": "missing_field", "field": "customerEmail"},
            _INVALID_CUSTOMER_EMAIL,
            INVALID_JSON,
            INVALID_BODY,
        ),
        "404": error(
            "Unknown customer or device, or the device is not assigned to the customer",
            _CUSTOMER_NOT_FOUND,
            _DEVICE_NOT_FOUND,
            {
                "error": "Device is not assigned to this customer",
                "code": "device_not_assigned",
                "field": "deviceIdentifier",
                "customerId": "cust_a1b2c3d4e5f6",
                "deviceIdentifier": "SN-12345-ABCDE",
                "currentDevices": ["SN-67890-FGHIJ"],
            },
        ),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        UnassignDeviceFromOwnerRequest,
        {
            "unassign": {
                "summary": "Unassign a device from a customer",
                "value": {"deviceIdentifier": "SN-12345-ABCDE", "customerEmail": "john.doe@example.com"},
            }
        },
    ),
}

UNASSIGN_DEVICES_FROM_OWNER_OPENAPI: dict[str, Any] = {
    "description": (
        "Removes the assignments of several devices to one customer; devices and customer remain. "
        "Identifiers the organization does not have, or that are not assigned to the customer, are listed in "
        "`skipped`. An unknown customer is a 404."
    ),
    "responses": {
        "200": ok(
            "Devices unassigned",
            UnassignDevicesResponse,
            {
                "success": True,
                "message": "Devices unassigned successfully",
                "customerId": "cust_a1b2c3d4e5f6",
                "unassignedDevices": ["SN-12345-ABCDE"],
                "skipped": ["SN-00000-NOPE"],
                "devicesRemaining": ["SN-67890-FGHIJ"],
            },
        ),
        "400": error(
            "Invalid request",
            {"error": "customerEmail is required", "code": "missing_field", "field": "customerEmail"},
            _INVALID_CUSTOMER_EMAIL,
            {"error": "deviceIdentifiers must not be empty", "code": "empty_field", "field": "deviceIdentifiers"},
            _TOO_MANY_DEVICES,
            INVALID_JSON,
            INVALID_BODY,
        ),
        "404": error("The organization has no customer with this email", _CUSTOMER_NOT_FOUND),
        **common_errors(),
    },
    "security": SECURITY,
    "requestBody": json_body(
        UnassignDevicesFromOwnerRequest,
        {
            "unassign": {
                "summary": "Unassign two devices from a customer",
                "value": {
                    "customerEmail": "john.doe@example.com",
                    "deviceIdentifiers": ["SN-12345-ABCDE", "SN-00000-NOPE"],
                },
            }
        },
    ),
}

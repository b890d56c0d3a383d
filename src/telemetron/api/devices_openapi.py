"""OpenAPI of the device and device-assignment endpoints: what the models cannot say."""

from __future__ import annotations

from typing import Any

from telemetron.api.customers_openapi import CUSTOMER_ID, EMAIL, UNKNOWN_CATEGORY
from telemetron.api.docs import operation, rejections
from telemetron.devices import schemas
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

SERIAL, OTHER_SERIAL, MISSING_SERIAL = "SN-12345-ABCDE", "SN-67890-FGHIJ", "SN-00000-NOPE"
TOO_MANY = [f"SN-{n}" for n in range(1001)]
_CUSTOMER_NOT_FOUND = {"error": "Customer not found", "code": "customer_not_found", "field": "customerEmail"}
_DEVICE_NOT_FOUND = {"error": "Device not found", "code": "device_not_found", "field": "deviceIdentifier"}
_NO_CUSTOMER = "The organization has no customer with this email"

DEVICE_OPENAPI: dict[str, Any] = operation(
    description=(
        "Creates the device with this `identifier` (trimmed), or updates it if the organization has it. "
        "Creating needs `type`: without it, an identifier the organization does not have is a 400. When "
        "updating, `type` and `category` change when given (`\"\"` clears the category), `properties` replace "
        "the old properties whole when given, and missing or null fields are left as they are. `category` "
        "must name an active category of the organization (matched ignoring case): another name is a 400."
    ),
    ok=("Device created or updated", DeviceResponse, {
        "success": True, "message": "Device created successfully", "deviceId": "dev_9a8b7c6d5e4f",
        "identifier": "sensor-001", "type": "sensor", "category": None, "deviceWasCreated": True,
    }),
    request=DeviceRequest,
    examples={
        "create": ("Create a device", {"identifier": "sensor-001", "type": "sensor", "properties": {
            "location": "Building A", "firmware": "v2.1.0", "model": "TM-500"}}),
        "update": ("Update a device's properties",
                   {"identifier": "sensor-001", "properties": {"location": "Building B", "firmware": "v2.2.0"}}),
    },
    invalid=[
        *rejections(schemas.parse_device, {}, {"identifier": " "}, {"identifier": "s", "properties": []},
                    {"identifier": "s" * 300}),
        {"error": "type is required when creating a device (this organization has no device 'sensor-001')",
         "code": "missing_field", "field": "type"},
        UNKNOWN_CATEGORY,
    ],
)

BULK_METADATA_OPENAPI: dict[str, Any] = operation(
    description=(
        "Replaces (does not merge) the metadata of up to 1000 existing devices, keyed by identifier "
        "(trimmed). Devices are never created: identifiers the organization does not have are reported "
        '`not_found` with `deviceId` "". `results` follow the order of the request.'
    ),
    ok=("Metadata replaced", BulkMetadataResponse, {
        "success": True, "message": "Metadata replaced for 1 device(s); 1 not found", "updated": 1, "notFound": 1,
        "results": [{"identifier": "sensor-001", "deviceId": "dev_9a8b7c6d5e4f", "status": "updated"},
                    {"identifier": "sensor-404", "deviceId": "", "status": "not_found"}],
    }),
    request=BulkMetadataRequest,
    examples={"replace": ("Replace the metadata of two devices", {"devices": {
        "sensor-001": {"firmware": "v2.2.0", "lastSeen": "2026-01-15T10:30:00Z"},
        "sensor-002": {"firmware": "v2.1.9", "battery": 87},
    }})},
    invalid=rejections(schemas.parse_bulk_metadata, {}, {"devices": []}, {"devices": {"sensor-001": "v2"}},
                       {"devices": {}}, {"devices": {"sensor-001": {}, " sensor-001": {}}},
                       {"devices": {serial: {} for serial in TOO_MANY}}),
)

ASSIGN_DEVICE_TO_OWNERS_OPENAPI: dict[str, Any] = operation(
    description=(
        "Assigns the device to each customer of `customerEmails` (trimmed, lower-cased, duplicates folded). "
        "Unknown customers are created; invalid emails are skipped and listed in `skippedEmails` (if none is "
        "valid: 400). Idempotent: an existing assignment is kept and reported `alreadyAssigned`. Without "
        "`autoCreateDevice`, a device the organization does not have is a 404; with it the device is created "
        "with `deviceType` (required whenever `autoCreateDevice` is true; an existing device keeps its type)."
    ),
    ok=("Device assigned", AssignDeviceToOwnersResponse, {
        "success": True, "message": "Device assigned successfully", "deviceId": "dev_9a8b7c6d5e4f",
        "deviceIdentifier": SERIAL, "deviceWasCreated": True,
        "assignedCustomers": [
            {"email": EMAIL, "customerId": CUSTOMER_ID, "wasCreated": False, "alreadyAssigned": False},
            {"email": "jane.doe@example.com", "customerId": "cust_0f668bda541d", "wasCreated": True,
             "alreadyAssigned": False},
        ],
        "skippedEmails": ["not-an-email"],
    }),
    request=AssignDeviceToOwnersRequest,
    examples={
        "assign": ("Assign a device to two customers, creating it if needed", {
            "deviceIdentifier": SERIAL, "customerEmails": [EMAIL, "jane.doe@example.com"],
            "autoCreateDevice": True, "deviceType": "Thermostat"}),
        "existing": ("Assign an existing device", {"deviceIdentifier": SERIAL, "customerEmails": [EMAIL]}),
    },
    invalid=rejections(
        schemas.parse_assign_device_to_owners,
        {"customerEmails": [EMAIL]},
        {"deviceIdentifier": SERIAL, "customerEmails": []},
        {"deviceIdentifier": SERIAL, "customerEmails": ["not-an-email"]},
        {"deviceIdentifier": SERIAL, "customerEmails": [EMAIL] * 1001},
        {"deviceIdentifier": SERIAL, "customerEmails": [EMAIL], "autoCreateDevice": True},
        {"deviceIdentifier": SERIAL, "customerEmails": [EMAIL], "autoCreateDevice": "yes"},
    ),
    errors={404: ("The organization has no such device and autoCreateDevice is false", [_DEVICE_NOT_FOUND])},
)

ASSIGN_DEVICES_TO_OWNER_OPENAPI: dict[str, Any] = operation(
    description=(
        "Assigns several devices (identifiers trimmed, duplicates folded) to one customer, created if the "
        "organization does not have it. Devices the organization does not have are created with "
        "`autoCreateDevices` (and `deviceType`, then required) and listed in `skipped` without it. Idempotent: "
        "devices already assigned are listed in `alreadyAssigned`. Lists follow the order of the request."
    ),
    ok=("Devices assigned", AssignDevicesToOwnerResponse, {
        "success": True, "message": "Devices assigned successfully", "customerId": CUSTOMER_ID,
        "customerWasCreated": False, "assignedDevices": [SERIAL], "alreadyAssigned": [OTHER_SERIAL],
        "createdDevices": [], "skipped": [MISSING_SERIAL],
    }),
    request=AssignDevicesToOwnerRequest,
    examples={
        "assign": ("Assign two devices to a customer",
                   {"customerEmail": EMAIL, "deviceIdentifiers": [SERIAL, OTHER_SERIAL]}),
        "autoCreate": ("Assign devices, creating those that do not exist", {
            "customerEmail": EMAIL, "deviceIdentifiers": [SERIAL, OTHER_SERIAL], "autoCreateDevices": True,
            "deviceType": "Thermostat"}),
    },
    invalid=rejections(
        schemas.parse_assign_devices_to_owner,
        {"deviceIdentifiers": [SERIAL]},
        {"customerEmail": "john.doe@", "deviceIdentifiers": [SERIAL]},
        {"customerEmail": EMAIL, "deviceIdentifiers": []},
        {"customerEmail": EMAIL, "deviceIdentifiers": [SERIAL, " "]},
        {"customerEmail": EMAIL, "deviceIdentifiers": TOO_MANY},
        {"customerEmail": EMAIL, "deviceIdentifiers": [SERIAL], "autoCreateDevices": True},
    ),
)

UNASSIGN_DEVICE_FROM_OWNER_OPENAPI: dict[str, Any] = operation(
    description=(
        "Removes the assignment of the device to the customer; both remain. An unknown customer or device is "
        "a 404 (nothing is created); a device not assigned to the customer is a 404 that lists the customer's "
        "`currentDevices`."
    ),
    ok=("Device unassigned", UnassignDeviceResponse, {
        "success": True, "message": "Device unassigned successfully", "customerId": CUSTOMER_ID,
        "deviceIdentifier": SERIAL, "devicesRemaining": [OTHER_SERIAL],
    }),
    request=UnassignDeviceFromOwnerRequest,
    examples={"unassign": ("Unassign a device from a customer", {"deviceIdentifier": SERIAL, "customerEmail": EMAIL})},
    invalid=rejections(schemas.parse_unassign_device, {"customerEmail": EMAIL}, {"deviceIdentifier": SERIAL},
                       {"deviceIdentifier": SERIAL, "customerEmail": "john.doe@"}),
    errors={404: ("Unknown customer or device, or the device is not assigned to the customer", [
        _CUSTOMER_NOT_FOUND,
        _DEVICE_NOT_FOUND,
        {"error": "Device is not assigned to this customer", "code": "device_not_assigned",
         "field": "deviceIdentifier", "customerId": CUSTOMER_ID, "deviceIdentifier": SERIAL,
         "currentDevices": [OTHER_SERIAL]},
    ])},
)

UNASSIGN_DEVICES_FROM_OWNER_OPENAPI: dict[str, Any] = operation(
    description=(
        "Removes the assignments of several devices to one customer; devices and customer remain. "
        "Identifiers the organization does not have, or that are not assigned to the customer, are listed in "
        "`skipped`. An unknown customer is a 404."
    ),
    ok=("Devices unassigned", UnassignDevicesResponse, {
        "success": True, "message": "Devices unassigned successfully", "customerId": CUSTOMER_ID,
        "unassignedDevices": [SERIAL], "skipped": [MISSING_SERIAL], "devicesRemaining": [OTHER_SERIAL],
    }),
    request=UnassignDevicesFromOwnerRequest,
    examples={"unassign": ("Unassign two devices from a customer",
                           {"customerEmail": EMAIL, "deviceIdentifiers": [SERIAL, MISSING_SERIAL]})},
    invalid=rejections(schemas.parse_unassign_devices, {"deviceIdentifiers": [SERIAL]},
                       {"customerEmail": "john.doe@", "deviceIdentifiers": [SERIAL]},
                       {"customerEmail": EMAIL, "deviceIdentifiers": []},
                       {"customerEmail": EMAIL, "deviceIdentifiers": TOO_MANY}),
    errors={404: (_NO_CUSTOMER, [_CUSTOMER_NOT_FOUND])},
)

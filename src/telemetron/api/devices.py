"""ext-v1 devices (``/device``, ``/device/bulk-metadata``) and device assignment
(``/deviceAssignment/...``) endpoints: each names its parser and its action to ``api.pipeline``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.devices_openapi import (
    ASSIGN_DEVICE_TO_OWNERS_OPENAPI,
    ASSIGN_DEVICES_TO_OWNER_OPENAPI,
    BULK_METADATA_OPENAPI,
    DEVICE_OPENAPI,
    UNASSIGN_DEVICE_FROM_OWNER_OPENAPI,
    UNASSIGN_DEVICES_FROM_OWNER_OPENAPI,
)
from telemetron.api.pipeline import Caller, Endpoint, Parsed, body_parser, serve
from telemetron.api.routing import ext_v1
from telemetron.db.scoped import Scoped
from telemetron.devices import assignment
from telemetron.devices import service as devices
from telemetron.devices.schemas import (
    DeviceChanges,
    parse_assign_device_to_owners,
    parse_assign_devices_to_owner,
    parse_bulk_metadata,
    parse_device,
    parse_unassign_device,
    parse_unassign_devices,
)

# --- actions (run inside the unit of work) -------------------------------------------------------


def _save_device(caller: Caller, changes: Parsed[DeviceChanges]) -> dict[str, Any]:
    device = devices.save(caller.scoped, changes.value)
    return {
        "success": True,
        "message": "Device created successfully" if device.created else "Device updated successfully",
        "deviceId": device.id,
        "identifier": device.identifier,
        "type": device.type,
        "category": device.category,
        "deviceWasCreated": device.created,
    }


def _bulk_metadata(caller: Caller, pairs: Parsed[list[tuple[str, dict[str, Any]]]]) -> dict[str, Any]:
    results = devices.replace_metadata(caller.scoped, pairs.value)
    updated = sum(r["status"] == "updated" for r in results)
    not_found = len(results) - updated
    return {
        "success": True,
        "message": f"Metadata replaced for {updated} device(s); {not_found} not found",
        "updated": updated,
        "notFound": not_found,
        "results": results,
    }


def _unassign_device(caller: Caller, parsed: Parsed[tuple[str, str]]) -> dict[str, Any]:
    email, identifier = parsed.value
    return assignment.unassign_device_from_owner(caller.scoped, email, identifier)


def _on_scoped(action: Callable[[Scoped, Any], dict[str, Any]]) -> Callable[[Caller, Parsed[Any]], dict[str, Any]]:
    return lambda caller, parsed: action(caller.scoped, parsed.value)


DEVICE = Endpoint("device", body_parser(parse_device), _save_device)
BULK_METADATA = Endpoint("device/bulk-metadata", body_parser(parse_bulk_metadata), _bulk_metadata)
ASSIGN_DEVICE_TO_OWNERS = Endpoint(
    "deviceAssignment/assignDeviceToOwners",
    body_parser(parse_assign_device_to_owners),
    _on_scoped(assignment.assign_device_to_owners),
)
ASSIGN_DEVICES_TO_OWNER = Endpoint(
    "deviceAssignment/assignDevicesToOwner",
    body_parser(parse_assign_devices_to_owner),
    _on_scoped(assignment.assign_devices_to_owner),
)
UNASSIGN_DEVICE_FROM_OWNER = Endpoint(
    "deviceAssignment/unassignDeviceFromOwner", body_parser(parse_unassign_device), _unassign_device
)
UNASSIGN_DEVICES_FROM_OWNER = Endpoint(
    "deviceAssignment/unassignDevicesFromOwner",
    body_parser(parse_unassign_devices),
    _on_scoped(assignment.unassign_devices_from_owner),
)


# --- routes ---------------------------------------------------------------------------------------


@ext_v1.post("/api/ext-v1/device", summary="Create or update a device", tag="devices", openapi=DEVICE_OPENAPI)
async def create_or_update_device(request: Request) -> Response:
    return await serve(request, DEVICE)


@ext_v1.post(
    "/api/ext-v1/device/bulk-metadata",
    summary="Replace the metadata of up to 1000 devices",
    tag="devices",
    openapi=BULK_METADATA_OPENAPI,
)
async def bulk_update_device_metadata(request: Request) -> Response:
    return await serve(request, BULK_METADATA)


@ext_v1.post(
    "/api/ext-v1/deviceAssignment/assignDeviceToOwners",
    summary="Assign a device to one or more customers",
    tag="device assignment",
    openapi=ASSIGN_DEVICE_TO_OWNERS_OPENAPI,
)
async def assign_device_to_owners(request: Request) -> Response:
    return await serve(request, ASSIGN_DEVICE_TO_OWNERS)


@ext_v1.post(
    "/api/ext-v1/deviceAssignment/assignDevicesToOwner",
    summary="Assign several devices to one customer",
    tag="device assignment",
    openapi=ASSIGN_DEVICES_TO_OWNER_OPENAPI,
)
async def assign_devices_to_owner(request: Request) -> Response:
    return await serve(request, ASSIGN_DEVICES_TO_OWNER)


@ext_v1.post(
    "/api/ext-v1/deviceAssignment/unassignDeviceFromOwner",
    summary="Unassign a device from a customer",
    tag="device assignment",
    openapi=UNASSIGN_DEVICE_FROM_OWNER_OPENAPI,
)
async def unassign_device_from_owner(request: Request) -> Response:
    return await serve(request, UNASSIGN_DEVICE_FROM_OWNER)


@ext_v1.post(
    "/api/ext-v1/deviceAssignment/unassignDevicesFromOwner",
    summary="Unassign several devices from a customer",
    tag="device assignment",
    openapi=UNASSIGN_DEVICES_FROM_OWNER_OPENAPI,
)
async def unassign_devices_from_owner(request: Request) -> Response:
    return await serve(request, UNASSIGN_DEVICES_FROM_OWNER)

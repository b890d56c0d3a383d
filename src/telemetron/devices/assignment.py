"""Device assignment: which customers own which devices (``device_owners``).

A device can have several owners (a family's thermostat) and a customer several devices.
Assigning is idempotent: the row is inserted ``ON CONFLICT DO NOTHING`` on its primary key
(device, customer), so a repeated or concurrent assignment changes nothing and is reported as
already assigned. Unassigning removes only the association; device and customer remain.

Assigning creates the customers it does not know (``customers.service.get_or_create_by_email``,
race-free) and, when asked, the device(s) (``devices.service.get_or_create``, race-free).
Deadlocks: every request writes in the same order, customers (by email) -> devices (by
identifier) -> assignments (by device id, then customer id), so concurrent requests on
PostgreSQL wait for one another instead of deadlocking. Responses list things in request order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam

from telemetron.clock import utcnow
from telemetron.customers import service as customers
from telemetron.customers.records import devices_of
from telemetron.db.scoped import Scoped, tenant_delete, tenant_upsert_ignore
from telemetron.db.tables import device_owners
from telemetron.devices import service as devices
from telemetron.devices.schemas import AssignToOwner, AssignToOwners, UnassignFromOwner
from telemetron.errors import NotFound

_o = device_owners.c
_ASSIGN = tenant_upsert_ignore(device_owners, "device_id", "customer_id", returning=[_o.device_id])
_UNASSIGN = tenant_delete(device_owners).where(
    _o.device_id == bindparam("owned_device_id"), _o.customer_id == bindparam("owner_id")
)

DEVICE_NOT_FOUND = "Device not found"
CUSTOMER_NOT_FOUND = "Customer not found"
NOT_ASSIGNED = "Device is not assigned to this customer"


def _assign(scoped: Scoped, device_id: str, customer_id: str, now) -> bool:
    """True if this call assigned it, False if it was assigned already."""
    row = {"device_id": device_id, "customer_id": customer_id, "created_at": now}
    return scoped.execute(_ASSIGN, row).first() is not None


def _identifiers_of(scoped: Scoped, customer_id: str) -> list[str]:
    return [device["identifier"] for device in devices_of(scoped, customer_id)]


def assign_device_to_owners(scoped: Scoped, request: AssignToOwners) -> dict[str, Any]:
    """assignDeviceToOwners. 404 "Device not found" if the organization has no such device and
    ``autoCreateDevice`` is false. With ``autoCreateDevice``, an existing device is used as it is
    (``deviceType`` does not change its type)."""
    existing = devices.ids_by_identifier(scoped, [request.identifier])
    if not existing and not request.auto_create:
        raise NotFound(DEVICE_NOT_FOUND, field="deviceIdentifier", code="device_not_found")

    resolved = {email: customers.get_or_create_by_email(scoped, email) for email in sorted(request.emails)}
    if existing:
        device_id, device_created = existing[request.identifier], False
    else:
        assert request.device_type is not None  # the schema requires it with autoCreateDevice
        device_id, device_created = devices.get_or_create(scoped, request.identifier, request.device_type)

    now = utcnow()
    newly: dict[str, bool] = {}
    for customer, _ in sorted(resolved.values(), key=lambda pair: pair[0]["id"]):
        newly[customer["id"]] = _assign(scoped, device_id, customer["id"], now)

    assigned = []
    for email in request.emails:
        customer, created = resolved[email]
        assigned.append(
            {
                "email": email,
                "customerId": customer["id"],
                "wasCreated": created,
                "alreadyAssigned": not newly[customer["id"]],
            }
        )
    return {
        "success": True,
        "message": "Device assigned successfully",
        "deviceId": device_id,
        "deviceIdentifier": request.identifier,
        "deviceWasCreated": device_created,
        "assignedCustomers": assigned,
        "skippedEmails": request.skipped_emails,
    }


def assign_devices_to_owner(scoped: Scoped, request: AssignToOwner) -> dict[str, Any]:
    """assignDevicesToOwner. The customer is created if needed (even when every device is
    skipped). Identifiers the organization does not have are created with ``autoCreateDevices``
    and skipped (listed in ``skipped``) without it."""
    customer, customer_created = customers.get_or_create_by_email(scoped, request.email)
    found = devices.ids_by_identifier(scoped, request.identifiers)
    created: list[str] = []
    if request.auto_create:
        assert request.device_type is not None  # the schema requires it with autoCreateDevices
        for identifier in sorted(i for i in request.identifiers if i not in found):
            found[identifier], was_created = devices.get_or_create(scoped, identifier, request.device_type)
            if was_created:
                created.append(identifier)

    now = utcnow()
    newly: dict[str, bool] = {}
    for device_id in sorted(found.values()):
        newly[device_id] = _assign(scoped, device_id, customer["id"], now)

    in_order = [i for i in request.identifiers if i in found]
    created_set = set(created)
    return {
        "success": True,
        "message": "Devices assigned successfully",
        "customerId": customer["id"],
        "customerWasCreated": customer_created,
        "assignedDevices": [i for i in in_order if newly[found[i]]],
        "alreadyAssigned": [i for i in in_order if not newly[found[i]]],
        "createdDevices": [i for i in request.identifiers if i in created_set],
        "skipped": [i for i in request.identifiers if i not in found],
    }


def _owner(scoped: Scoped, email: str) -> dict:
    customer = customers.find_by_email(scoped, email)
    if customer is None:
        raise NotFound(CUSTOMER_NOT_FOUND, field="customerEmail", code="customer_not_found")
    return customer


def unassign_device_from_owner(scoped: Scoped, email: str, identifier: str) -> dict[str, Any]:
    """unassignDeviceFromOwner. 404 "Customer not found" / "Device not found" when the
    organization has no such customer / device (nothing is created); 404 "Device is not
    assigned to this customer" (with ``customerId``, ``deviceIdentifier``, ``currentDevices``)
    when both exist but are not linked."""
    customer = _owner(scoped, email)
    found = devices.ids_by_identifier(scoped, [identifier])
    if not found:
        raise NotFound(DEVICE_NOT_FOUND, field="deviceIdentifier", code="device_not_found")
    removed = scoped.execute(_UNASSIGN, {"owned_device_id": found[identifier], "owner_id": customer["id"]})
    if removed.rowcount == 0:
        raise NotFound(
            NOT_ASSIGNED,
            field="deviceIdentifier",
            code="device_not_assigned",
            customerId=customer["id"],
            deviceIdentifier=identifier,
            currentDevices=_identifiers_of(scoped, customer["id"]),
        )
    return {
        "success": True,
        "message": "Device unassigned successfully",
        "customerId": customer["id"],
        "deviceIdentifier": identifier,
        "devicesRemaining": _identifiers_of(scoped, customer["id"]),
    }


def unassign_devices_from_owner(scoped: Scoped, request: UnassignFromOwner) -> dict[str, Any]:
    """unassignDevicesFromOwner. 404 "Customer not found" for an unknown customer; identifiers
    that are unknown or not assigned to the customer are listed in ``skipped``."""
    customer = _owner(scoped, request.email)
    found = devices.ids_by_identifier(scoped, request.identifiers)
    unassigned: set[str] = set()
    for identifier, device_id in sorted(found.items(), key=lambda item: item[1]):
        removed = scoped.execute(_UNASSIGN, {"owned_device_id": device_id, "owner_id": customer["id"]})
        if removed.rowcount:
            unassigned.add(identifier)
    return {
        "success": True,
        "message": "Devices unassigned successfully",
        "customerId": customer["id"],
        "unassignedDevices": [i for i in request.identifiers if i in unassigned],
        "skipped": [i for i in request.identifiers if i not in unassigned],
        "devicesRemaining": _identifiers_of(scoped, customer["id"]),
    }

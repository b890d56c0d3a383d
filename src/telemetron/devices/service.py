"""Devices: an organization's hardware, one per (organization, identifier).

Identifiers are the client's own names (serial numbers, MACs), stored trimmed; a unique index on
(organization_id, identifier) makes "create if missing" safe under any concurrency, exactly as
for customers: the insert is ``ON CONFLICT DO NOTHING`` and the loser of a race reads the
winner's row. Devices are never deleted (there is no endpoint for it), so a device found at the
start of a unit of work is still there at its end.

A device has ``properties`` (set by POST /device) and ``metadata`` (replaced whole by
bulk-metadata), both JSON objects, and optionally a category.

Deadlocks: where one request writes several devices, it writes them in a fixed order (by
identifier when inserting, by id when updating), so concurrent requests wait for each other
instead of deadlocking on PostgreSQL. Requests that also create customers create them first
(see ``devices.assignment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam

from telemetron import ids
from telemetron.clock import utcnow
from telemetron.customers.records import category_id_for
from telemetron.db.scoped import Scoped, tenant_select, tenant_update, tenant_upsert_ignore
from telemetron.db.tables import categories, devices
from telemetron.devices.schemas import DeviceChanges
from telemetron.errors import InvalidRequest

_d = devices.c
_COLUMNS = (_d.id, _d.identifier, _d.type, _d.properties, _d.category_id)
_BY_IDENTIFIER = tenant_select(devices, *_COLUMNS).where(_d.identifier == bindparam("identifier"))
_BY_IDENTIFIER_FOR_UPDATE = _BY_IDENTIFIER.with_for_update()
_IDS_BY_IDENTIFIERS = tenant_select(devices, _d.identifier, _d.id).where(
    _d.identifier.in_(bindparam("identifiers", expanding=True))
)
_INSERT_IF_NEW = tenant_upsert_ignore(devices, "organization_id", "identifier", returning=[_d.id])
# (Bound names must differ from column names in UPDATE statements.)
_UPDATE = (
    tenant_update(devices)
    .where(_d.id == bindparam("device_id"))
    .values(
        type=bindparam("new_type"),
        properties=bindparam("new_properties", type_=_d.properties.type),
        category_id=bindparam("new_category_id"),
        updated_at=bindparam("now"),
    )
)
_REPLACE_METADATA = (
    tenant_update(devices)
    .where(_d.id == bindparam("device_id"))
    .values(metadata=bindparam("new_metadata", type_=_d.metadata.type), updated_at=bindparam("now"))
)
_CATEGORY_NAME = tenant_select(categories, categories.c.name).where(categories.c.id == bindparam("category_id"))


@dataclass(slots=True)
class SavedDevice:
    id: str
    identifier: str
    type: str
    category: str | None
    created: bool


def ids_by_identifier(scoped: Scoped, identifiers: list[str]) -> dict[str, str]:
    """{identifier: device id} of those of ``identifiers`` the organization has."""
    if not identifiers:
        return {}
    return {r[0]: r[1] for r in scoped.execute(_IDS_BY_IDENTIFIERS, {"identifiers": identifiers})}


def get_or_create(
    scoped: Scoped,
    identifier: str,
    device_type: str,
    *,
    properties: dict[str, Any] | None = None,
    category_id: str | None = None,
) -> tuple[str, bool]:
    """(device id, created). An existing device is returned as it is (its type is not changed)."""
    now = utcnow()
    new_id = ids.device_id()
    row = {
        "id": new_id,
        "identifier": identifier,
        "type": device_type,
        "properties": properties or {},
        "metadata": {},
        "category_id": category_id,
        "created_at": now,
        "updated_at": now,
    }
    if scoped.execute(_INSERT_IF_NEW, row).first() is not None:
        return new_id, True
    # It exists: created before, or by a concurrent request that has committed by now.
    existing = ids_by_identifier(scoped, [identifier])
    return existing[identifier], False


def save(scoped: Scoped, changes: DeviceChanges) -> SavedDevice:
    """POST /device: create the device, or update the fields the request gives.

    Creating needs ``type`` (400 otherwise). On update, ``type`` and ``category`` change when
    given, ``properties`` are replaced whole when given, and the rest is left as it is. The row
    is read ``FOR UPDATE`` (PostgreSQL), so concurrent updates of one device apply in turn.
    """
    category_id = None
    if changes.category:
        category_id = category_id_for(scoped, changes.category)
    current = scoped.execute(_BY_IDENTIFIER_FOR_UPDATE, {"identifier": changes.identifier}).mappings().first()
    if current is None:
        if changes.type is None:
            raise InvalidRequest(
                f"type is required when creating a device (this organization has no device '{changes.identifier}')",
                field="type",
                code="missing_field",
            )
        device_id, created = get_or_create(
            scoped, changes.identifier, changes.type, properties=changes.properties, category_id=category_id
        )
        if created:
            return SavedDevice(device_id, changes.identifier, changes.type, _category_name(scoped, category_id), True)
        # Lost a race with a concurrent create: update the winner's device instead.
        current = scoped.execute(_BY_IDENTIFIER_FOR_UPDATE, {"identifier": changes.identifier}).mappings().first()
        assert current is not None  # the concurrent create has committed
    new_type = changes.type or current["type"]
    if changes.category is None:
        category_id = current["category_id"]
    scoped.execute(
        _UPDATE,
        {
            "device_id": current["id"],
            "new_type": new_type,
            "new_properties": current["properties"] if changes.properties is None else changes.properties,
            "new_category_id": category_id,
            "now": utcnow(),
        },
    )
    return SavedDevice(current["id"], current["identifier"], new_type, _category_name(scoped, category_id), False)


def _category_name(scoped: Scoped, category_id: str | None) -> str | None:
    if category_id is None:
        return None
    return scoped.execute(_CATEGORY_NAME, {"category_id": category_id}).scalar()


def replace_metadata(scoped: Scoped, pairs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, str]]:
    """bulk-metadata: replace the metadata of the devices that exist; never create one.

    Returns ``{identifier, deviceId, status}`` per pair, in request order (``deviceId`` is ""
    and ``status`` "not_found" for identifiers the organization does not have).
    """
    found = ids_by_identifier(scoped, [identifier for identifier, _ in pairs])
    now = utcnow()
    updates = sorted(
        (
            {"device_id": found[identifier], "new_metadata": metadata, "now": now}
            for identifier, metadata in pairs
            if identifier in found
        ),
        key=lambda row: str(row["device_id"]),
    )
    if updates:
        scoped.execute_many(_REPLACE_METADATA, updates)
    return [
        {
            "identifier": identifier,
            "deviceId": found.get(identifier, ""),
            "status": "updated" if identifier in found else "not_found",
        }
        for identifier, _ in pairs
    ]

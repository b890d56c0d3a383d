"""Customer records as the ext-v1 customer endpoints write and read them.

``create_or_update`` is createOrUpdateCustomer:

- Without an id it creates the customer with ``INSERT ... ON CONFLICT DO NOTHING`` on
  (organization, email), so two requests racing to create one email make one customer and the
  loser gets the 409 with the winner's ``telemetronCustomerId``.
- With an id it updates that customer of the caller's organization (another organization's id:
  404). The row is read ``FOR UPDATE`` (PostgreSQL; SQLite has one writer anyway), so concurrent
  updates of one customer apply one after the other and none silently undoes another's fields.
  Changing the email to one that another customer of the organization has is a 409 carrying that
  customer's ``telemetronCustomerId``, also when the other customer is created concurrently (the
  unique index decides; the update runs in a savepoint so the transaction survives it).
- ``category`` names an active category of the organization, matched as createTicket matches
  one (ignoring case and surrounding spaces); an unknown name is a 400. The record shows it even
  if the category was deactivated since.

``record_by_email`` / ``record_by_id`` return the customer record of queryCustomer and
getCustomer, devices included (ordered by identifier).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from telemetron import ids
from telemetron.categories import service as categories_service
from telemetron.clock import utcnow
from telemetron.customers.schemas import CustomerChanges
from telemetron.customers.service import default_name, find_by_email
from telemetron.db.scoped import Scoped, tenant_select, tenant_update_bound, tenant_upsert_ignore
from telemetron.db.tables import categories, customers, device_owners, devices
from telemetron.errors import Conflict, InvalidRequest, NotFound

_c = customers.c
NOT_FOUND_FOR_ORG = "Customer not found or does not belong to this organization"
CUSTOMER_EXISTS = "A customer with this email already exists"

_INSERT_IF_NEW = tenant_upsert_ignore(customers, "organization_id", "email", returning=[_c.id])
_FOR_UPDATE = (
    tenant_select(customers, _c.id, _c.email, _c.name, _c.phone, _c.address, _c.category_id)
    .where(_c.id == bindparam("customer_id"))
    .with_for_update()
)
_UPDATE = (
    tenant_update_bound(customers, "email", "name", "phone", "address", "category_id")
    .where(_c.id == bindparam("customer_id"))
    .values(updated_at=bindparam("now"))
)
_RECORD = tenant_select(
    customers,
    _c.id,
    _c.organization_id,
    _c.name,
    _c.email,
    _c.phone,
    _c.address,
    _c.metadata,
    _c.created_at,
    _c.updated_at,
    categories.c.name.label("category"),
).select_from(
    customers.outerjoin(
        categories,
        (categories.c.id == _c.category_id) & (categories.c.organization_id == _c.organization_id),
    )
)
_RECORD_BY_ID = _RECORD.where(_c.id == bindparam("customer_id"))
_RECORD_BY_EMAIL = _RECORD.where(_c.email == bindparam("email"))
_DEVICES_OF = (
    tenant_select(device_owners, devices.c.id, devices.c.identifier, devices.c.type)
    .select_from(
        device_owners.join(
            devices,
            (devices.c.id == device_owners.c.device_id)
            & (devices.c.organization_id == device_owners.c.organization_id),
        )
    )
    .where(device_owners.c.customer_id == bindparam("owner_id"))
    .order_by(devices.c.identifier)
)


def category_id_for(scoped: Scoped, name: str, *, field: str = "category") -> str:
    """The id of the active category ``name`` names (as createTicket matches it), or a 400 (the
    status clients of the ext-v1 API already handle for it)."""
    match = categories_service.match_active(scoped, name)
    if match is None:
        raise InvalidRequest(
            f"{field} '{name.strip()}' matches no active category of this organization",
            field=field,
            code="unknown_category",
        )
    return match[0]


def _category(scoped: Scoped, name: str | None, current: str | None) -> str | None:
    """None: keep ``current``; "": clear; a name: that category's id."""
    if name is None:
        return current
    if name == "":
        return None
    return category_id_for(scoped, name)


def create_or_update(scoped: Scoped, changes: CustomerChanges) -> tuple[str, bool]:
    """Return (customer id, created)."""
    if changes.customer_id is None:
        return _create(scoped, changes), True
    _update(scoped, changes)
    return changes.customer_id, False


def _create(scoped: Scoped, changes: CustomerChanges) -> str:
    category_id = _category(scoped, changes.category, None)
    existing = find_by_email(scoped, changes.email)
    if existing is not None:
        _conflict(existing["id"])
    now = utcnow()
    new_id = ids.customer_id()
    row: dict[str, Any] = {
        "id": new_id,
        "email": changes.email,
        "name": changes.name or default_name(changes.email),
        "phone": changes.phone or None,
        "address": changes.address or None,
        "metadata": {},
        "category_id": category_id,
        "created_at": now,
        "updated_at": now,
    }
    if scoped.execute(_INSERT_IF_NEW, row).first() is None:
        # Created by a concurrent request after our read; it has committed by now.
        winner = find_by_email(scoped, changes.email)
        assert winner is not None
        _conflict(winner["id"])
    return new_id


def _update(scoped: Scoped, changes: CustomerChanges) -> None:
    current = scoped.execute(_FOR_UPDATE, {"customer_id": changes.customer_id}).mappings().first()
    if current is None:
        raise NotFound(NOT_FOUND_FOR_ORG, field="telemetronCustomerId", code="customer_not_found")
    if changes.email != current["email"]:
        holder = find_by_email(scoped, changes.email)
        if holder is not None:
            _conflict(holder["id"])
    params = {
        "customer_id": current["id"],
        "new_email": changes.email,
        "new_name": changes.name or current["name"],
        "new_phone": current["phone"] if changes.phone is None else (changes.phone or None),
        "new_address": current["address"] if changes.address is None else (changes.address or None),
        "new_category_id": _category(scoped, changes.category, current["category_id"]),
        "now": utcnow(),
    }
    try:
        with scoped.conn.begin_nested():
            scoped.execute(_UPDATE, params)
    except IntegrityError:
        # Another customer took this email concurrently (PostgreSQL: its commit released us).
        holder = find_by_email(scoped, changes.email)
        if holder is None:
            raise
        _conflict(holder["id"])
    if (params["new_email"], params["new_name"]) != (current["email"], current["name"]):
        from telemetron.tickets import search  # the customer's tickets are found by name and email

        search.reindex_customer(scoped, current["id"])


def _conflict(existing_id: str) -> None:
    raise Conflict(CUSTOMER_EXISTS, field="email", code="customer_exists", telemetronCustomerId=existing_id)


def devices_of(scoped: Scoped, customer_id: str) -> list[dict[str, str]]:
    """The customer's devices as ``{deviceId, identifier, type}``, by identifier."""
    rows = scoped.execute(_DEVICES_OF, {"owner_id": customer_id})
    return [{"deviceId": r[0], "identifier": r[1], "type": r[2]} for r in rows]


def record_by_id(scoped: Scoped, customer_id: str) -> dict[str, Any]:
    row = scoped.execute(_RECORD_BY_ID, {"customer_id": customer_id}).mappings().first()
    if row is None:
        raise NotFound(NOT_FOUND_FOR_ORG, field="telemetronCustomerId", code="customer_not_found")
    return _record(scoped, row)


def record_by_email(scoped: Scoped, email: str) -> dict[str, Any]:
    """``email`` must be normalized (``customers.service.normalize_email``)."""
    row = scoped.execute(_RECORD_BY_EMAIL, {"email": email}).mappings().first()
    if row is None:
        raise NotFound("Customer not found", field="email", code="customer_not_found")
    return _record(scoped, row)


def _record(scoped: Scoped, row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "organizationId": row["organization_id"],
        "name": row["name"],
        "email": row["email"],
        "phone": row["phone"],
        "address": row["address"],
        "category": row["category"],
        "devices": devices_of(scoped, row["id"]),
        "metadata": row["metadata"] or {},
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": row["updated_at"].isoformat(),
    }

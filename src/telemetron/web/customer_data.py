"""A customer as agents see them: details, devices and tickets (open first), for the customer page
and the ticket page's sidebar. Read through ``db.scoped``: another organization's customer is a 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case

from telemetron.customers import service as customers
from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import categories, device_owners, devices, tickets
from telemetron.members.auth import SignedIn
from telemetron.tickets.serializers import SUMMARIES, summary_json

_t = tickets.c
_d = devices.c
MAX_TICKETS = 100
_DEVICES = (
    tenant_select(device_owners, _d.id, _d.identifier, _d.type, _d.properties, categories.c.name.label("category"))
    .join_from(device_owners, devices, (_d.id == device_owners.c.device_id)
               & (_d.organization_id == device_owners.c.organization_id))
    .outerjoin(categories, (categories.c.id == _d.category_id) & (categories.c.organization_id == _d.organization_id))
    .where(device_owners.c.customer_id == bindparam("customer_id"))
    .order_by(_d.identifier)
)
_TICKETS = (
    SUMMARIES.where(_t.customer_id == bindparam("customer_id"))
    .order_by(case((_t.status == "resolved", 1), else_=0), _t.created_at.desc(), _t.id.desc())
    .limit(MAX_TICKETS)
)
_OPEN_TICKETS = (
    SUMMARIES.where(_t.customer_id == bindparam("customer_id"), _t.status != "resolved")
    .order_by(_t.created_at.desc(), _t.id.desc())
    .limit(11)
)


def customer_devices(scoped: Scoped, customer_id: str) -> list[dict]:
    return [dict(r) for r in scoped.execute(_DEVICES, {"customer_id": customer_id}).mappings()]


def customer_page(scoped: Scoped, member: SignedIn, customer_id: str) -> dict[str, Any]:
    customer = customers.get_customer(scoped, customer_id)
    rows = scoped.execute(_TICKETS, {"customer_id": customer["id"]}).all()
    return {"customer": customer, "devices": customer_devices(scoped, customer["id"]),
            "tickets": [summary_json(r) for r in rows], "max_tickets": MAX_TICKETS}


def sidebar(scoped: Scoped, customer_id: str, ticket_id: str) -> dict[str, Any]:
    """The customer's other open tickets (at most 10) and devices, for a ticket's sidebar."""
    rows = scoped.execute(_OPEN_TICKETS, {"customer_id": customer_id}).all()
    others = [summary_json(r) for r in rows if r.id != ticket_id][:10]
    return {"other_open": others, "devices": customer_devices(scoped, customer_id)}

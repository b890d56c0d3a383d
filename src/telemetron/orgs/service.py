"""Organizations: the tenants. Everything else belongs to exactly one."""

from __future__ import annotations

from sqlalchemy import Connection, select

from telemetron import ids
from telemetron.db.engine import utcnow
from telemetron.db.tables import organizations
from telemetron.errors import NotFound


def create_organization(conn: Connection, *, name: str) -> dict:
    name = name.strip()
    if not name:
        raise ValueError("organization name must not be empty")
    row = {"id": ids.organization_id(), "name": name, "created_at": utcnow()}
    conn.execute(organizations.insert().values(**row))
    return row


def get_organization(conn: Connection, org_id: str) -> dict:
    row = conn.execute(select(organizations).where(organizations.c.id == org_id)).mappings().first()
    if row is None:
        raise NotFound(f"Organization {org_id} not found")
    return dict(row)


def find_organization_by_name(conn: Connection, name: str) -> dict | None:
    row = conn.execute(select(organizations).where(organizations.c.name == name)).mappings().first()
    return dict(row) if row else None


def list_organizations(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(select(organizations).order_by(organizations.c.created_at)).mappings()]

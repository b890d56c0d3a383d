"""Organizations: the tenants. Everything else belongs to exactly one."""

from __future__ import annotations

from sqlalchemy import Connection, select

from telemetron import ids
from telemetron.clock import utcnow
from telemetron.db.tables import organizations
from telemetron.errors import InvalidRequest, NotFound
from telemetron.tickets import numbers

MAX_NAME = 255


def check_name(name: str, *, what: str) -> str:
    """Trimmed, non-empty and at most 255 characters (the column's size on PostgreSQL)."""
    name = name.strip()
    if not name:
        raise InvalidRequest(f"{what} must not be empty", field="name", code="empty_field")
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"{what} must be at most {MAX_NAME} characters (got {len(name)})", field="name", code="field_too_long")
    return name


def create_organization(conn: Connection, *, name: str) -> dict:
    name = check_name(name, what="The organization name")
    org_id = ids.organization_id()
    row = {"id": org_id, "name": name, "created_at": utcnow()}
    conn.execute(organizations.insert().values(**row))
    numbers.create_counter(conn, org_id)
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

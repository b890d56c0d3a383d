"""Team members: the agents of an organization, whom tickets are assigned to.

One member per (organization, email); emails are stored trimmed and lower-cased, as customers'
are, so "Ann@Example.com" and "ann@example.com" are the same member. ``available`` is for routing
(issue 4: unavailable members are skipped by routing rules); a ticket can still be assigned to an
unavailable member by hand.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from telemetron import ids
from telemetron.customers.service import default_name, normalize_email
from telemetron.db.engine import utcnow
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select
from telemetron.db.tables import members
from telemetron.errors import Conflict, InvalidRequest, NotFound

MAX_NAME = 255
MAX_EMAIL = 320

_c = members.c
_COLUMNS = (_c.id, _c.email, _c.name, _c.available, _c.created_at, _c.updated_at)
_BY_ID = tenant_select(members, *_COLUMNS).where(_c.id == bindparam("member_id"))
_BY_EMAIL = tenant_select(members, *_COLUMNS).where(_c.email == bindparam("email"))
_ALL = tenant_select(members, *_COLUMNS).order_by(_c.email)
_INSERT = tenant_insert(members)


def _member(row) -> dict:
    # Plain str keys: SQLAlchemy's are ``quoted_name`` (a str subclass) that orjson refuses as keys.
    return {str(key): value for key, value in row.items()}


def add_member(scoped: Scoped, *, email: str, name: str | None = None, available: bool = True) -> dict:
    """Add a member; 409 ``member_exists`` if the email (ignoring case) is already a member."""
    email = normalize_email(email, field="email")
    if len(email) > MAX_EMAIL:
        raise InvalidRequest(f"email must be at most {MAX_EMAIL} characters", field="email", code="field_too_long")
    name = (name or "").strip() or default_name(email)
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"name must be at most {MAX_NAME} characters", field="name", code="field_too_long")
    if "\x00" in name:
        raise InvalidRequest("name must not contain the NUL character", field="name", code="invalid_character")
    if find_by_email(scoped, email) is not None:
        raise Conflict(f"A member with email {email} already exists", field="email", code="member_exists")
    now = utcnow()
    row = {"id": ids.member_id(), "email": email, "name": name, "available": available, "created_at": now, "updated_at": now}
    try:
        with scoped.conn.begin_nested():
            scoped.execute(_INSERT, row)
    except IntegrityError:  # a concurrent add of the same email
        raise Conflict(f"A member with email {email} already exists", field="email", code="member_exists") from None
    return row


def list_members(scoped: Scoped) -> list[dict]:
    """The organization's members, by email."""
    return [_member(r) for r in scoped.execute(_ALL).mappings()]


def find_member(scoped: Scoped, member_id: str) -> dict | None:
    row = scoped.execute(_BY_ID, {"member_id": member_id}).mappings().first()
    return _member(row) if row else None


def find_by_email(scoped: Scoped, email: str) -> dict | None:
    row = scoped.execute(_BY_EMAIL, {"email": email}).mappings().first()
    return _member(row) if row else None


def get_member(scoped: Scoped, member_id: str) -> dict:
    """The member ``member_id`` of this organization; 404 ``member_not_found`` otherwise."""
    member = find_member(scoped, member_id)
    if member is None:
        raise NotFound(f"Member {member_id} not found in this organization", code="member_not_found")
    return member

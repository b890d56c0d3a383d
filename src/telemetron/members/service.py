"""Team members: the agents of an organization, whom tickets are assigned to.

One member per (organization, email); emails are stored trimmed and lower-cased, as customers'
are, so "Ann@Example.com" and "ann@example.com" are the same member. ``available`` is for routing
(unavailable members are skipped by routing rules); a ticket can still be assigned to an
unavailable member by hand.

``role`` (agent | admin) and the password are for the web app (``members.auth``, ``telemetron.web``):
admins also manage the organization there. A member without a password cannot sign in.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from telemetron import ids
from telemetron.clock import utcnow
from telemetron.customers.service import default_name, normalize_email
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import members
from telemetron.errors import Conflict, InvalidRequest, NotFound
from telemetron.members.auth import ROLES, end_member_sessions

MAX_NAME = 255
MAX_EMAIL = 320

_c = members.c
_COLUMNS = (_c.id, _c.email, _c.name, _c.available, _c.role, _c.password_hash.is_not(None).label("can_sign_in"),
            _c.created_at, _c.updated_at)
_BY_ID = tenant_select(members, *_COLUMNS).where(_c.id == bindparam("member_id"))
_BY_EMAIL = tenant_select(members, *_COLUMNS).where(_c.email == bindparam("email"))
_ALL = tenant_select(members, *_COLUMNS).order_by(_c.email)
_INSERT = tenant_insert(members)
# (Bound names must differ from column names in UPDATE statements.)
_UPDATE = tenant_update(members).where(_c.id == bindparam("member_id"))
_SET_ROLE = _UPDATE.values(role=bindparam("new_role"), updated_at=bindparam("now"))
_SET_AVAILABLE = _UPDATE.values(available=bindparam("new_available"), updated_at=bindparam("now"))
_SET_PASSWORD = _UPDATE.values(password_hash=bindparam("new_hash"), failed_signins=0, locked_until=None,
                               updated_at=bindparam("now"))


def _member(row) -> dict:
    # Plain str keys: SQLAlchemy's are ``quoted_name`` (a str subclass) that orjson refuses as keys.
    member = {str(key): value for key, value in row.items()}
    member["can_sign_in"] = bool(member["can_sign_in"])
    return member


def add_member(
    scoped: Scoped,
    *,
    email: str,
    name: str | None = None,
    available: bool = True,
    role: str = "agent",
    password_hash: str | None = None,
) -> dict:
    """Add a member; 409 ``member_exists`` if the email (ignoring case) is already a member.

    ``password_hash`` comes from ``members.auth.hash_password`` (hashed before the transaction:
    it is slow); without one the member cannot sign in to the web app until a password is set.
    """
    role = check_role(role)
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
    row = {"id": ids.member_id(), "email": email, "name": name, "available": available, "role": role,
           "password_hash": password_hash, "created_at": now, "updated_at": now}
    try:
        with scoped.conn.begin_nested():
            scoped.execute(_INSERT, row)
    except IntegrityError:  # a concurrent add of the same email
        raise Conflict(f"A member with email {email} already exists", field="email", code="member_exists") from None
    row["can_sign_in"] = password_hash is not None
    del row["password_hash"]
    return row


def check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise InvalidRequest(f"Invalid role '{role}'. Must be one of: {', '.join(ROLES)}", field="role",
                             code="invalid_role")
    return role


def set_role(scoped: Scoped, member_id: str, role: str, *, acting_member_id: str | None = None) -> dict:
    """Make a member an agent or an admin. An admin cannot demote themself (nobody could undo it
    from the web app)."""
    role = check_role(role)
    member = get_member(scoped, member_id)
    if member_id == acting_member_id and role != "admin":
        raise InvalidRequest("You cannot remove your own admin role; ask another admin", field="role",
                             code="own_role")
    scoped.execute(_SET_ROLE, {"member_id": member_id, "new_role": role, "now": utcnow()})
    return {**member, "role": role}


def set_available(scoped: Scoped, member_id: str, available: bool) -> dict:
    """Routing skips unavailable members (they can still be assigned by hand)."""
    member = get_member(scoped, member_id)
    scoped.execute(_SET_AVAILABLE, {"member_id": member_id, "new_available": bool(available), "now": utcnow()})
    return {**member, "available": bool(available)}


def set_password_hash(scoped: Scoped, member_id: str, password_hash: str) -> dict:
    """Store a new password (hashed by ``members.auth.hash_password`` beforehand), clear any sign-in
    lock, and sign the member out of every session: whoever knew the old password is out."""
    member = get_member(scoped, member_id)
    scoped.execute(_SET_PASSWORD, {"member_id": member_id, "new_hash": password_hash, "now": utcnow()})
    end_member_sessions(scoped, member_id)
    return {**member, "can_sign_in": True}


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

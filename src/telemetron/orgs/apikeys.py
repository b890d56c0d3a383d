"""API keys: random, shown once, stored only as a SHA-256 hash, several per organization, revocable at once.

Keys are 32 random bytes, so a plain SHA-256 is as safe as a slow password hash here (nobody can
brute-force 256 bits) and costs a microsecond per request instead of tens of milliseconds.
Revocation is checked on every request against the database, not a cache, so a revoked key
stops working on every API process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, select, update

from telemetron import audit, ids
from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_select, tenant_update
from telemetron.db.tables import api_keys, organizations
from telemetron.errors import NotFound, Unauthorized

KEY_PREFIX = "tlm_"
# last_used_at is a convenience for admins, not an audit log: writing it on every request would
# add a write to every read-only call, so it is refreshed at most once a minute per key, and never
# waited for (see ``_TOUCH``).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    # One request hashes its key 3-4 times (rate limit bucket, early categorizer, authentication):
    # the last key's hash is remembered, and only the last one's.
    global _last_hashed
    last = _last_hashed
    # Constant time: the remembered key may be another organization's.
    if last[0] is not None and hmac.compare_digest(last[0].encode("utf-8", "surrogatepass"),
                                                   key.encode("utf-8", "surrogatepass")):
        return last[1]
    hashed = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    _last_hashed = (key, hashed)
    return hashed


_last_hashed: tuple[str | None, str] = (None, "")


@dataclass(frozen=True, slots=True)
class NewApiKey:
    id: str
    name: str
    prefix: str
    key: str  # the plaintext, returned once and never stored


def create_api_key(conn: Connection, *, org_id: str, name: str, actor=None) -> NewApiKey:
    """A new key for ``org_id``, recorded in its audit log as made by ``actor`` (an ``audit.Actor``)."""
    from telemetron.orgs.service import check_name

    name = check_name(name, what="The API key name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = NewApiKey(id=ids.api_key_id(), name=name, prefix=key[:12], key=key)
    conn.execute(
        api_keys.insert().values(
            id=record.id,
            organization_id=org_id,
            name=name,
            prefix=record.prefix,
            key_hash=hash_key(key),
            created_at=utcnow(),
        )
    )
    audit.record(conn, org_id, actor, "api_key.created", {"apiKeyId": record.id, "name": name, "prefix": record.prefix})
    return record


_c = api_keys.c
_LIST = tenant_select(api_keys, _c.id, _c.name, _c.prefix, _c.created_at, _c.last_used_at, _c.revoked_at).order_by(
    _c.created_at
)
# (Bound names must differ from column names in UPDATE statements.)
_REVOKE = tenant_update(api_keys).where(_c.id == bindparam("key_id"), _c.revoked_at.is_(None))
# Authentication is the one lookup that is not scoped: it is how the organization is found.
_BY_HASH = Prepared(
    select(_c.id, _c.organization_id, _c.last_used_at, organizations.c.config_version)
    .join_from(api_keys, organizations, organizations.c.id == _c.organization_id)
    .where(_c.key_hash == bindparam("key_hash"), _c.revoked_at.is_(None))
)
# The refresh runs in the request's transaction, so the row stays locked until that commits: a
# request finding the row locked skips the refresh (PostgreSQL's SKIP LOCKED; SQLite has one writer
# anyway and ignores FOR UPDATE) instead of queueing behind a slow request of the same key.
_STALE = or_(_c.last_used_at.is_(None), _c.last_used_at < bindparam("stale_before"))
_UNLOCKED_STALE_KEY = (
    select(_c.id).where(_c.id == bindparam("key_id"), _STALE).with_for_update(skip_locked=True).scalar_subquery()
)
_TOUCH = update(api_keys).where(_c.id == _UNLOCKED_STALE_KEY).values(last_used_at=bindparam("now"))


def list_api_keys(scoped: Scoped) -> list[dict]:
    return [dict(r) for r in scoped.execute(_LIST).mappings()]


def revoke_api_key(scoped: Scoped, key_id: str) -> None:
    result = scoped.execute(_REVOKE.values(revoked_at=bindparam("revoked_at")), {"key_id": key_id, "revoked_at": utcnow()})
    if result.rowcount == 0:
        raise NotFound(f"No active API key {key_id} in this organization")
    audit.record_scoped(scoped, "api_key.revoked", {"apiKeyId": key_id})


# When this process last tried to refresh each key's last_used_at, by key id: while a refresh is
# uncommitted (or was skipped) other requests still read the old value, and would each try again.
_touched_at: dict[str, datetime] = {}


def _touch(conn: Connection, key_id: str, last_used_at) -> None:
    """Refresh the key's last_used_at if it is over a minute old and nobody here tried lately."""
    now = utcnow()
    stale_before = now - LAST_USED_RESOLUTION
    tried = _touched_at.get(key_id)
    # This process's own try first: parsing the stored time is the dearer test.
    if (tried is not None and tried >= stale_before) or (last_used_at is not None and _as_utc(last_used_at) >= stale_before):
        return
    if len(_touched_at) >= MAX_REMEMBERED_KEYS:
        _touched_at.clear()
    _touched_at[key_id] = now
    conn.execute(_TOUCH, {"key_id": key_id, "now": now, "stale_before": stale_before})


# Keys this process authenticated, by hash: a hint, never an authority (see ``recent_organization``).
_recently_valid: dict[str, str] = {}
MAX_REMEMBERED_KEYS = 10_000


def recent_organization(key: str | None) -> str | None:
    """The organization of ``key`` if this process accepted the key before; None otherwise.

    Only for work that may start before the request's own authentication and is harmless when
    wasted (createTicket asks the categorizer early with it). It is no check: a key revoked since
    is here until its next request is refused (which forgets it), and the request's unit of work
    rejects it as usual.
    """
    return _recently_valid.get(hash_key(key)) if key else None


def missing_api_key() -> Unauthorized:
    return Unauthorized("Missing API key: send it in the x-api-key header", code="missing_api_key")


def authenticate_caller(conn: Connection, key: str | None) -> tuple[str, int]:
    """(organization id, its config version) of a valid, unrevoked key; raise 401 otherwise."""
    if not key:
        raise missing_api_key()
    row_hash = hash_key(key)
    row = _BY_HASH.execute(conn, {"key_hash": row_hash}).fetchone()
    if row is None:
        _recently_valid.pop(row_hash, None)  # revoked: no more early work for it either
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    key_id, org_id, last_used_at, config_version = row
    if len(_recently_valid) >= MAX_REMEMBERED_KEYS:
        _recently_valid.clear()
    _recently_valid[row_hash] = org_id
    _touch(conn, key_id, last_used_at)
    return org_id, config_version


def _as_utc(value) -> datetime:
    """The raw driver value of a timestamp: a string on SQLite, an aware datetime on PostgreSQL."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

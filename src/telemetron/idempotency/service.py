"""Idempotency keys, as Zendesk's ticket API and the IETF Idempotency-Key draft use them.

The key is claimed by inserting its row in the same transaction that creates the ticket, and the
response is stored in that row before commit. So:
- a retry after the first request committed finds the row and gets the first response back;
- a retry while the first is still in flight waits on the row's unique index (PostgreSQL) or on
  the single writer (SQLite) and then gets the first response, never a second ticket;
- if the first request fails, its claim rolls back with everything else and a retry starts afresh;
- the same key with another body (or for another endpoint) is a client bug: 422.
Keys are honoured for at least ``idempotency_ttl_hours`` and purged after that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete

from telemetron.clock import utcnow
from telemetron.db.scoped import (
    Scoped,
    tenant_select,
    tenant_update,
    tenant_upsert_ignore,
)
from telemetron.db.tables import idempotency_keys

_CLAIM = tenant_upsert_ignore(idempotency_keys, "organization_id", "key", returning=[idempotency_keys.c.key])
_BY_KEY = tenant_select(idempotency_keys).where(idempotency_keys.c.key == bindparam("key"))
_STORE = (
    tenant_update(idempotency_keys)
    .where(idempotency_keys.c.key == bindparam("idem_key"))
    .values(response_status=bindparam("status"), response_body=bindparam("body"))
)
from telemetron.errors import InvalidRequest, Unprocessable

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            field="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    return key


def fingerprint(body: Any) -> str:
    """Hash of the request body as JSON with sorted keys: whitespace and key order do not matter."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def claim(scoped: Scoped, *, key: str, endpoint: str, request_hash: str) -> StoredResponse | None:
    """Claim ``key`` for this transaction, or return the response already stored under it."""
    inserted = scoped.execute(
        _CLAIM,
        {
            "key": key,
            "endpoint": endpoint,
            "request_hash": request_hash,
            "response_status": 0,
            "response_body": "",
            "created_at": utcnow(),
        },
    ).first()
    if inserted is not None:
        return None
    row = scoped.execute(_BY_KEY, {"key": key}).mappings().one()
    stored_endpoint = endpoint_name(row["endpoint"])
    if stored_endpoint != endpoint or row["request_hash"] != request_hash:
        what = (f"for another call ({stored_endpoint})" if stored_endpoint != endpoint
                else "with a different request body")
        raise Unprocessable(
            f"This Idempotency-Key was already used {what}; use a new key for a new request",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return StoredResponse(status=row["response_status"], body=row["response_body"].encode())


_LEGACY_PREFIX = "/api/ext-v1/"


def endpoint_name(stored: str) -> str:
    """The endpoint a stored key is bound to, by its ext-v1 name ("customer/queryCustomer").

    Rows written while customers and devices keyed by URL path ("/api/ext-v1/customer/...") are
    read as that name, so such a key replays instead of being refused as another call's.
    """
    return stored[len(_LEGACY_PREFIX):] if stored.startswith(_LEGACY_PREFIX) else stored


def store(scoped: Scoped, *, key: str, status: int, body: bytes) -> None:
    scoped.execute(_STORE, {"idem_key": key, "status": status, "body": body.decode()})


def purge_expired(conn: Connection, *, ttl_hours: int) -> int:
    """Delete keys older than the TTL, across organizations (a maintenance task, not a tenant query)."""
    cutoff = utcnow() - timedelta(hours=ttl_hours)
    return conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)).rowcount

"""The outbox: notifications to send, written in the ticket's transaction, delivered after commit.

Claiming follows healthchecks: a worker takes a batch of due messages with one conditional
UPDATE (PostgreSQL: the candidate rows are locked with ``FOR UPDATE SKIP LOCKED``, so two
workers never take the same row; SQLite has a single writer), and the claim is a lease
(``claimed_until``): a worker killed mid-delivery loses its claim when the lease runs out and
another worker delivers the message. Delivery is therefore at least once; receivers get a stable
delivery id to drop the rare duplicate. Every attempt is recorded with its outcome.

Claims and results are maintenance across organizations (a worker serves every tenant), so these
statements are not tenant-scoped; ``enqueue`` and the listings for an organization are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from telemetron.db.engine import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import outbox, outbox_attempts
from telemetron.outbox.delivery import BASE_DELAY_SECONDS, RETRY_FOR, Outcome, backoff_seconds

DEFAULT_LEASE = timedelta(seconds=60)
_c = outbox.c
_INSERT = Prepared(tenant_insert(outbox))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    organization_id: str
    channel: str
    event: str
    target: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def enqueue(scoped: Scoped, *, channel: str, event: str, payload: dict[str, Any],
            ticket_id: str | None = None, target: str | None = None) -> None:
    """Write a message to send; it leaves only if the caller's transaction commits."""
    now = utcnow()
    scoped.execute_prepared(
        _INSERT,
        {
            "channel": channel,
            "event": event,
            "ticket_id": ticket_id,
            "target": target,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
            "created_at": now,
            "delivered_at": None,
        },
    )


def claim(conn: Connection, *, worker: str, limit: int, lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    now = utcnow()
    due = (
        select(_c.id)
        .where(
            _c.status == "pending",
            _c.next_attempt_at <= now,
            or_(_c.claimed_until.is_(None), _c.claimed_until < now),
        )
        .order_by(_c.next_attempt_at, _c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it (one writer)
    )
    stmt = (
        update(outbox)
        .where(_c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + lease, attempts=_c.attempts + 1)
        .returning(_c.id, _c.organization_id, _c.channel, _c.event, _c.target, _c.payload, _c.attempts, _c.created_at)
    )
    return [Claimed(*row) for row in conn.execute(stmt).all()]


def record(conn: Connection, message: Claimed, outcome: Outcome, *, worker: str, started_at: datetime,
           duration_ms: float, retry_base: float = BASE_DELAY_SECONDS) -> str:
    """Store the attempt and the message's next state; returns that state."""
    now = utcnow()
    if outcome.kind == "delivered":
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
    elif outcome.kind == "failed":
        values = {"status": "failed", "last_error": outcome.error}
    else:
        delay = outcome.after if outcome.after is not None else backoff_seconds(message.attempts, base=retry_base)
        next_at = now + timedelta(seconds=delay)
        if next_at - message.created_at > RETRY_FOR:
            values = {"status": "failed", "last_error": f"gave up after {RETRY_FOR.total_seconds() / 3600:.0f} hours: {outcome.error}"}
        else:
            values = {"status": "pending", "next_attempt_at": next_at, "last_error": outcome.error}
    conn.execute(
        update(outbox)
        # Only the claim holder settles the message: after a lost lease, the new holder decides.
        .where(and_(_c.id == message.id, _c.claimed_by == worker))
        .values(claimed_by=None, claimed_until=None, **values)
    )
    conn.execute(
        outbox_attempts.insert().values(
            message_id=message.id,
            worker=worker,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=outcome.status_code,
            outcome={"delivered": "delivered", "failed": "failed"}.get(values["status"], "retry"),
            error=outcome.error,
        )
    )
    return values["status"]


_LIST = tenant_select(outbox).order_by(_c.id.desc()).limit(bindparam("limit"))
_RETRY = (
    tenant_update(outbox)
    .where(_c.id == bindparam("message_id"), _c.status == "failed")
    .values(status="pending", next_attempt_at=bindparam("now"), created_at=bindparam("now"), last_error=None)
)


def list_messages(scoped: Scoped, *, status: str | None = None, limit: int = 50) -> list[dict]:
    stmt = _LIST if status is None else _LIST.where(_c.status == status)
    return [dict(r) for r in scoped.execute(stmt, {"limit": limit}).mappings()]


def attempts_of(conn: Connection, message_id: int) -> list[dict]:
    rows = conn.execute(
        select(outbox_attempts).where(outbox_attempts.c.message_id == message_id).order_by(outbox_attempts.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def retry_failed(scoped: Scoped, message_id: int) -> bool:
    """Send a failed message again (its 24 hours start over). False if it is not a failed message."""
    return scoped.execute(_RETRY, {"message_id": message_id, "now": utcnow()}).rowcount == 1

"""The outbox: notifications to send, written in the ticket's transaction, delivered after commit.

Two kinds of rows share the table. A ticket's transaction writes one *event* row per ticket event
(``channel = 'event'``, see ``notifications.events``): one indexed insert on the request path
however many destinations there are. A worker claims it like any message and, in the same
transaction, replaces it by one *delivery* row per destination (``fan_out``: ``slack``, or
``webhook`` with the endpoint's id as ``target``), which are then sent, retried and recorded
each on its own; the event row stays, marked ``fanned_out``. Claim and fan-out commit together
or not at all, and only the worker holding the event's claim fans it out (a conditional
``UPDATE ... RETURNING``): a crash before the commit leaves the event pending, a stale or
repeated fan-out writes nothing, so no event is lost or fanned out twice.

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

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, text, update

from telemetron.clock import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import outbox, outbox_attempts
from telemetron.outbox.delivery import BASE_DELAY_SECONDS, RETRY_FOR, Outcome, backoff_seconds

DEFAULT_LEASE = timedelta(seconds=60)
EVENT = "event"  # the channel of an event row, fanned out to its destinations by a worker
FANNED_OUT = "fanned_out"  # the status of an event row once its deliveries are written
_c = outbox.c
_INSERT = Prepared(tenant_insert(outbox))
_INSERT_DELIVERIES = insert(outbox).returning(_c.id, sort_by_parameter_order=True)


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
    ticket_id: str | None = None


def enqueue(scoped: Scoped, *, channel: str, event: str, payload: dict[str, Any],
            ticket_id: str | None = None, target: str | None = None, now: datetime | None = None) -> None:
    """Write a message to send; it leaves only if the caller's transaction commits."""
    now = now or utcnow()
    row = {"channel": channel, "event": event, "ticket_id": ticket_id, "payload": payload, "status": "pending",
           "attempts": 0, "next_attempt_at": now, "created_at": now}
    if target is not None:  # the columns left out (claims, errors, delivery time) start NULL
        row["target"] = target
    scoped.execute_prepared(_INSERT, row)


_RETURNED = (_c.id, _c.organization_id, _c.channel, _c.event, _c.target, _c.payload, _c.attempts, _c.created_at,
             _c.ticket_id)


# The claim, built once (building it per claim cost more than running it).
_NOW = bindparam("c_now", type_=_c.next_attempt_at.type)
_DUE = (
    select(_c.id)
    .where(_c.status == "pending", _c.next_attempt_at <= _NOW, or_(_c.claimed_until.is_(None), _c.claimed_until < _NOW))
    .order_by(_c.next_attempt_at, _c.id)
    .limit(bindparam("c_limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it (one writer)
)
_CLAIM = (
    update(outbox)
    .where(_c.id.in_(_DUE.scalar_subquery()))
    .values(claimed_by=bindparam("c_worker"), claimed_until=bindparam("c_until", type_=_c.claimed_until.type),
            attempts=_c.attempts + 1)
    .returning(*_RETURNED)
)


def claim(conn: Connection, *, worker: str, limit: int, lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Claim up to ``limit`` due messages, event rows and deliveries alike."""
    now = utcnow()
    params = {"c_now": now, "c_limit": limit, "c_worker": worker, "c_until": now + lease}
    return [Claimed(*row) for row in conn.execute(_CLAIM, params).all()]


# Built once: marks the claimed events this worker still holds as fanned out.
_MARK_FANNED_OUT = (
    update(outbox)
    .where(_c.id.in_(bindparam("f_ids", expanding=True)), _c.channel == EVENT, _c.claimed_by == bindparam("f_worker"),
           _c.status == "pending")
    .values(status=FANNED_OUT, claimed_by=None, claimed_until=None,
            delivered_at=bindparam("f_now", type_=_c.delivered_at.type))
    .returning(_c.id)
)


def fan_out(conn: Connection, planned: list[tuple[Claimed, list[tuple[str, str | None, dict]]]], *, worker: str,
            lease: timedelta = DEFAULT_LEASE, claim_first: int = 0) -> list[Claimed]:
    """Replace claimed event rows by their deliveries, in the caller's (the claim's) transaction.

    ``planned`` pairs each event with its ``(channel, target, payload)`` deliveries. An event is
    fanned out only while this worker holds its claim and it is still pending: one conditional
    UPDATE marks it ``fanned_out`` and says which events it marked, and only their deliveries are
    written. Running it twice for one event, or from a worker whose lease ran out, therefore
    writes nothing the second time. The event row is kept (marked, never deleted: SQLite may reuse
    a deleted row's id) as the record of what happened; listings show its deliveries instead.
    Deliveries keep the event's ``created_at``: their 24 hours of retries count from the event.

    The first ``claim_first`` deliveries are written already claimed by ``worker`` (first attempt,
    lease) and returned, to be sent at once; the others are written pending for the next claim.
    """
    if not planned:
        return []
    now = utcnow()
    marked = conn.execute(_MARK_FANNED_OUT, {"f_ids": [event.id for event, _ in planned], "f_worker": worker, "f_now": now})
    mine = {row[0] for row in marked}
    rows: list[dict[str, Any]] = []
    for event, targets in planned:
        if event.id not in mine:
            continue
        for channel, target, payload in targets:
            claimed_now = len(rows) < claim_first
            rows.append({
                "organization_id": event.organization_id, "channel": channel, "event": event.event,
                "ticket_id": event.ticket_id, "target": target, "payload": payload, "status": "pending",
                "attempts": 1 if claimed_now else 0, "next_attempt_at": now,
                "claimed_by": worker if claimed_now else None, "claimed_until": now + lease if claimed_now else None,
                "last_error": None, "created_at": event.created_at, "delivered_at": None,
            })
    if not rows:
        return []
    ids = [row[0] for row in conn.execute(_INSERT_DELIVERIES, rows)]
    return [
        Claimed(message_id, r["organization_id"], r["channel"], r["event"], r["target"], r["payload"], 1,
                r["created_at"], r["ticket_id"])
        for message_id, r in zip(ids[:claim_first], rows[:claim_first])
    ]


def fail_unprepared(conn: Connection, message: Claimed, error: str, *, worker: str) -> None:
    """A message that cannot be fanned out or prepared fails alone, with its reason (no attempt was made)."""
    conn.execute(
        update(outbox)
        .where(and_(_c.id == message.id, _c.claimed_by == worker))
        .values(status="failed", last_error=error, claimed_by=None, claimed_until=None)
    )


# Settling a message and logging its attempt: built once, run with executemany for a whole batch
# of outcomes (building a statement per message cost more CPU than sending the message).
# Only the claim holder settles a message: after a lost lease, the new holder decides.
_SETTLE = (
    update(outbox)
    .where(_c.id == bindparam("m_id"), _c.claimed_by == bindparam("m_worker"))
    .values(
        claimed_by=None,
        claimed_until=None,
        status=bindparam("m_status"),
        last_error=bindparam("m_error"),
        delivered_at=bindparam("m_delivered_at", type_=_c.delivered_at.type),
        next_attempt_at=func.coalesce(bindparam("m_next_at", type_=_c.next_attempt_at.type), _c.next_attempt_at),
    )
)
_LOG_ATTEMPT = insert(outbox_attempts)


def record_many(conn: Connection, batch: list[tuple[Claimed, Outcome, datetime, float]], *, worker: str,
                retry_base: float = BASE_DELAY_SECONDS) -> list[str]:
    """Store each attempt ``(message, outcome, started_at, duration_ms)`` and its message's next state
    (returned, in order), in two statements."""
    now = utcnow()
    settle: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    states: list[str] = []
    for message, outcome, started_at, duration_ms in batch:
        delivered_at = next_at = None
        error = outcome.error
        if outcome.kind == "delivered":
            status, delivered_at, error = "delivered", now, None
        elif outcome.kind == "failed":
            status = "failed"
        else:
            delay = outcome.after if outcome.after is not None else backoff_seconds(message.attempts, base=retry_base)
            next_at = now + timedelta(seconds=delay)
            if next_at - message.created_at > RETRY_FOR:
                status, next_at = "failed", None
                error = f"gave up after {RETRY_FOR.total_seconds() / 3600:.0f} hours: {outcome.error}"
            else:
                status = "pending"
        states.append(status)
        settle.append({"m_id": message.id, "m_worker": worker, "m_status": status, "m_error": error,
                       "m_delivered_at": delivered_at, "m_next_at": next_at})
        attempts.append({"message_id": message.id, "worker": worker, "started_at": started_at,
                         "duration_ms": duration_ms, "status_code": outcome.status_code,
                         "outcome": {"delivered": "delivered", "failed": "failed"}.get(status, "retry"),
                         "error": outcome.error})
    if batch:
        conn.execute(_SETTLE, settle)
        conn.execute(_LOG_ATTEMPT, attempts)
    return states


# An organization's messages, newest first: its deliveries (``ix_outbox_deliveries_by_organization``,
# whose condition SQLite matches only against the same literal text), and its events not yet
# fanned out, few at any time (through the claims' index on status). A fanned-out event is shown
# as its deliveries.
_NEWEST = tenant_select(outbox).order_by(_c.id.desc()).limit(bindparam("limit"))
_LIST_DELIVERIES = _NEWEST.where(text("outbox.channel <> 'event'"))
_LIST_EVENTS = _NEWEST.where(_c.channel == EVENT, _c.status.in_(("pending", "failed")))
_RETRY = (
    tenant_update(outbox)
    .where(_c.id == bindparam("message_id"), _c.status == "failed")
    .values(status="pending", next_attempt_at=bindparam("now"), created_at=bindparam("now"), last_error=None)
)


def list_messages(scoped: Scoped, *, status: str | None = None, limit: int = 50) -> list[dict]:
    rows: list[dict] = []
    for stmt in (_LIST_DELIVERIES, _LIST_EVENTS):
        if status is not None:
            stmt = stmt.where(_c.status == status)
        rows.extend(dict(r) for r in scoped.execute(stmt, {"limit": limit}).mappings())
    return sorted(rows, key=lambda r: r["id"], reverse=True)[:limit]


def attempts_of(conn: Connection, message_id: int) -> list[dict]:
    rows = conn.execute(
        select(outbox_attempts).where(outbox_attempts.c.message_id == message_id).order_by(outbox_attempts.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def retry_failed(scoped: Scoped, message_id: int) -> bool:
    """Send a failed message again (its 24 hours start over). False if it is not a failed message."""
    return scoped.execute(_RETRY, {"message_id": message_id, "now": utcnow()}).rowcount == 1


# Delivered messages and fanned-out events are history: kept for ``outbox list`` and a look at
# their attempts for a while, then purged, a chunk per transaction (short units, indexed by
# (status, next_attempt_at), which a delivered message no longer moves). Failed messages stay
# until someone retries them: they need a person.
PURGE_CHUNK = 1000
_FINISHED = ("delivered", FANNED_OUT)


def purge_finished(conn: Connection, *, older_than: datetime, limit: int = PURGE_CHUNK) -> int:
    """Delete up to ``limit`` delivered messages and fanned-out events last due before ``older_than``,
    with their attempts; returns how many messages. Maintenance across organizations."""
    ids = list(conn.execute(
        select(_c.id).where(_c.status.in_(_FINISHED), _c.next_attempt_at < older_than).limit(limit)
    ).scalars())
    if ids:
        conn.execute(outbox_attempts.delete().where(outbox_attempts.c.message_id.in_(ids)))
        conn.execute(outbox.delete().where(_c.id.in_(ids)))
    return len(ids)

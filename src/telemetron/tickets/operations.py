"""getTicket, queryTickets, updateTicket and addMessage, each as one unit of work.

As for createTicket (``tickets.intake``): the handler reads and validates the request in the event
loop, then one function here runs in one transaction (``ctx.db.run``). It checks the API key
first and only then raises the validation error the handler found, if any: a client without a
valid key learns nothing but 401. Everything an endpoint writes commits together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection

from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError
from telemetron.idempotency import service as idempotency
from telemetron.orgs.apikeys import authenticate
from telemetron.tickets import changes
from telemetron.tickets.queries import query_tickets
from telemetron.tickets.views import canonical_ticket_id, get_ticket

ADD_MESSAGE_ENDPOINT = "ticket/addMessage"


@dataclass(slots=True)
class PendingRequest:
    """What a handler read: the key, the validated request or the problem with it, and more."""

    api_key: str | None
    request: Any = None
    warnings: list[str] = field(default_factory=list)
    problem: AppError | None = None  # raised only once the key is known good
    idempotency_key: str | None = None
    request_hash: str | None = None


def _scoped(conn: Connection, db: Database, pending: PendingRequest) -> Scoped:
    org_id = authenticate(conn, pending.api_key)
    if pending.problem is not None:
        raise pending.problem
    return Scoped(db, conn, org_id)


def get_ticket_response(conn: Connection, db: Database, pending: PendingRequest) -> bytes:
    """``pending.request`` is the canonical ticket id, or None when the path held no UUID."""
    scoped = _scoped(conn, db, pending)
    return orjson.dumps({"success": True, "ticket": get_ticket(scoped, pending.request)})


def authenticated(conn: Connection, db: Database, pending: PendingRequest) -> str:
    """The key's organization (401 otherwise), then the request's problem if it has one."""
    return _scoped(conn, db, pending).org_id


def query_tickets_response(conn: Connection, db: Database, org_id: str, pending: PendingRequest) -> bytes:
    """Read-only (``Database.read``): the organization comes from ``authenticated``, run before."""
    page, next_cursor, warnings = query_tickets(Scoped(db, conn, org_id), pending.request)
    return orjson.dumps(
        {"success": True, "tickets": page, "nextCursor": next_cursor, "warnings": pending.warnings + warnings}
    )


def update_ticket_response(conn: Connection, db: Database, pending: PendingRequest) -> bytes:
    """Apply the requested changes, each through its function in ``tickets.changes``."""
    scoped = _scoped(conn, db, pending)
    update = pending.request
    ticket = changes.lock_ticket(scoped, canonical_ticket_id(update.ticket_id))
    now = utcnow()
    wanted = update.changes
    changed: list[str] = []
    if "status" in wanted and changes.change_status(scoped, ticket, wanted["status"], now=now):
        changed.append("status")
    if "priority" in wanted and changes.change_priority(scoped, ticket, wanted["priority"], now=now):
        changed.append("priority")
    if "category" in wanted and changes.change_category(scoped, ticket, wanted["category"], now=now):
        changed.append("category")
    if "assigneeId" in wanted and changes.change_assignee(scoped, ticket, wanted["assigneeId"], now=now):
        changed.append("assigneeId")
    return orjson.dumps(
        {
            "success": True,
            "message": "Ticket updated successfully",
            "changed": changed,
            "ticket": get_ticket(scoped, ticket.id),
            "warnings": pending.warnings,
        }
    )


def add_message_response(conn: Connection, db: Database, pending: PendingRequest) -> tuple[int, bytes, bool]:
    """(status, body, replayed); honours ``Idempotency-Key`` as createTicket does, under its own endpoint name."""
    scoped = _scoped(conn, db, pending)
    if pending.idempotency_key is not None:
        stored = idempotency.claim(
            scoped, key=pending.idempotency_key, endpoint=ADD_MESSAGE_ENDPOINT, request_hash=pending.request_hash
        )
        if stored is not None:
            return stored.status, stored.body, True
    request = pending.request
    ticket = changes.lock_ticket(scoped, canonical_ticket_id(request.ticketId))
    added = changes.add_message(scoped, ticket, request.role, request.content, now=utcnow())
    body = orjson.dumps(
        {
            "success": True,
            "message": "Message added successfully",
            "messageId": added.id,
            "position": added.position,
            "ticketStatus": ticket.status,
            "reopened": added.reopened,
            "warnings": pending.warnings,
        }
    )
    if pending.idempotency_key is not None:
        idempotency.store(scoped, key=pending.idempotency_key, status=200, body=body)
    return 200, body, False

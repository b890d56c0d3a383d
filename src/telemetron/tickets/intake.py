"""createTicket as one unit of work: authenticate, honour the idempotency key, open the ticket.

All of it runs in one transaction in one database thread hop (see ``telemetron.db.engine``).
Validation happens before, in the event loop, but a validation error is only raised here, after
the key was checked: a client without a valid key learns nothing but 401.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection

from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError
from telemetron.idempotency import service as idempotency
from telemetron.orgs.apikeys import authenticate
from telemetron.tickets.schemas import CreateTicketRequest
from telemetron.tickets.service import create_ticket

ENDPOINT = "ticket/createTicket"


@dataclass(slots=True)
class IntakeRequest:
    api_key: str | None
    request: CreateTicketRequest | None
    warnings: list[str]
    problem: AppError | None  # a validation error, raised only once the key is known good
    idempotency_key: str | None
    request_hash: str | None


def create_ticket_response(
    conn: Connection, db: Database, intake: IntakeRequest
) -> tuple[int, bytes, bool]:
    """Return (status, JSON body, replayed) of createTicket. Raises AppError for every 4xx.

    ``replayed`` is true when the body is the stored answer to an earlier request with the same
    idempotency key.
    """
    org_id = authenticate(conn, intake.api_key)
    if intake.problem is not None:
        raise intake.problem
    assert intake.request is not None
    scoped = Scoped(db, conn, org_id)
    if intake.idempotency_key is not None:
        stored = idempotency.claim(
            scoped, key=intake.idempotency_key, endpoint=ENDPOINT, request_hash=intake.request_hash
        )
        if stored is not None:
            return stored.status, stored.body, True
    ticket = create_ticket(scoped, intake.request)
    body = orjson.dumps(
        {
            "success": True,
            "ticketId": ticket.id,
            "message": "Ticket created successfully",
            "customerId": ticket.customer_id,
            "customerCreated": ticket.customer_created,
            "category": ticket.category,
            "categorySource": ticket.category_source,
            "status": ticket.status,
            "descriptionGenerated": ticket.description_generated,
            "warnings": intake.warnings + ticket.warnings,
        }
    )
    if intake.idempotency_key is not None:
        idempotency.store(scoped, key=intake.idempotency_key, status=200, body=body)
    return 200, body, False

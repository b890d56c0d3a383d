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
from telemetron.orgs import config as org_config
from telemetron.orgs.apikeys import authenticate_caller
from telemetron.orgs.config import OrgConfig
from telemetron.tickets.schemas import CreateTicketRequest
from telemetron.tickets.service import categorizer_request, create_ticket

ENDPOINT = "ticket/createTicket"


@dataclass(slots=True)
class IntakeRequest:
    api_key: str | None
    request: CreateTicketRequest | None
    warnings: list[str]
    problem: AppError | None  # a validation error, raised only once the key is known good
    idempotency_key: str | None
    request_hash: str | None
    prediction: object = None  # the categorizer's answer, on the second run (see NeedsCategorizer)
    # The question an early prediction answered (asked before the unit, with the configuration this
    # process had cached); the unit drops the prediction if the current configuration asks another.
    asked: object = None
    written_description: str | None = None  # by the LLM engine, when configured


def create_ticket_response(
    conn: Connection, db: Database, intake: IntakeRequest
) -> tuple[int, bytes, bool]:
    """Return (status, JSON body, replayed) of createTicket. Raises AppError for every 4xx.

    ``replayed`` is true when the body is the stored answer to an earlier request with the same
    idempotency key.
    """
    org_id, config_version = authenticate_caller(conn, intake.api_key)
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
    config = org_config.cache.get(scoped, config_version)
    ticket = create_ticket(
        scoped, intake.request, config=config, prediction=_current_prediction(scoped, config, intake),
        written_description=intake.written_description,
    )
    body = orjson.dumps(
        {
            "success": True,
            "ticketId": ticket.id,
            "message": "Ticket created successfully",
            "customerId": ticket.customer_id,
            "customerCreated": ticket.customer_created,
            "category": ticket.category,
            "categorySource": ticket.category_source,
            "categoryConfidence": ticket.confidence,
            "categoryCandidates": ticket.candidates,
            "status": ticket.status,
            "descriptionGenerated": ticket.description_generated,
            "assignee": ticket.assignee,
            "routing": {"ruleId": ticket.routing_rule_id, "reason": ticket.routing_reason},
            "warnings": intake.warnings + ticket.warnings,
        }
    )
    if intake.idempotency_key is not None:
        idempotency.store(scoped, key=intake.idempotency_key, status=200, body=body)
    return 200, body, False


def _current_prediction(scoped: Scoped, config: OrgConfig, intake: IntakeRequest):
    """The request's prediction, unless it was asked early with a configuration that asks another
    question now (a new model, threshold or set of categories): then None, and it is asked again."""
    if intake.asked is not None and intake.request is not None:
        if categorizer_request(scoped.org_id, config, intake.request) != intake.asked:
            return None
    return intake.prediction


def dry_run_response(conn: Connection, db: Database, intake: IntakeRequest, body: object) -> tuple[int, bytes, bool]:
    """createTicket?dryRun=true: authenticate, then ``dry_run`` (nothing is stored).

    Like createTicket, it raises ``NeedsCategorizer`` rather than run the categorizer here, in a
    unit of work (on SQLite, the event loop's thread): the caller asks the server's categorizer.
    """
    org_id, config_version = authenticate_caller(conn, intake.api_key)
    if intake.problem is not None:
        raise intake.problem
    scoped = Scoped(db, conn, org_id)
    prediction = _current_prediction(scoped, org_config.cache.get(scoped, config_version), intake)
    result = dry_run(scoped, body, prediction, categorize_inline=False)
    return 200, orjson.dumps({"success": True, "message": "Dry run: nothing was created", **result}), False


class _Undo(Exception):
    """Raised inside a savepoint to undo a dry run's writes, carrying what it would have done."""

    def __init__(self, result: dict) -> None:
        super().__init__("dry run")
        self.result = result


def dry_run(scoped: Scoped, body: object, prediction=None, *, categorize_inline: bool = True) -> dict:
    """What createTicket would do with ``body`` (category, routing, notifications), storing nothing.

    It runs the real creation, so the answer cannot drift from what createTicket does, inside a
    savepoint that is then rolled back: no ticket, no customer, no notification, no round-robin
    turn is kept.
    """
    from sqlalchemy import bindparam, func, select

    from telemetron.db.scoped import tenant_select
    from telemetron.db.tables import outbox
    from telemetron.notifications import events
    from telemetron.tickets.schemas import parse_create_ticket

    request, warnings = parse_create_ticket(body)
    try:
        with scoped.conn.begin_nested():
            # What the ticket writes to the outbox comes after the newest row now: found by the
            # primary key, not a scan of every organization's messages.
            newest = scoped.conn.execute(select(func.max(outbox.c.id))).scalar() or 0
            ticket = create_ticket(scoped, request, prediction=prediction, categorize_inline=categorize_inline)
            rows = scoped.execute(
                tenant_select(outbox, outbox.c.channel, outbox.c.event, outbox.c.target, outbox.c.payload)
                .where(outbox.c.id > bindparam("newest"), outbox.c.ticket_id == bindparam("ticket_id"))
                .order_by(outbox.c.id),
                {"newest": newest, "ticket_id": ticket.id},
            ).all()
            # The ticket's event row, as the deliveries a worker would fan it out to.
            notifications = [
                f"slack {(payload or {}).get('channel') or '(default channel)'}" if channel == "slack" else f"webhook {target}"
                for channel, target, payload in events.planned(scoped.org_id, rows)
            ]
            raise _Undo(
                {
                    "dryRun": True,
                    "category": ticket.category,
                    "categorySource": ticket.category_source,
                    "categoryConfidence": ticket.confidence,
                    "categoryCandidates": ticket.candidates,
                    "priority": ticket.priority,
                    "status": ticket.status,
                    "assignee": ticket.assignee,
                    "tags": ticket.tags,
                    "routing": {"ruleId": ticket.routing_rule_id, "reason": ticket.routing_reason},
                    "notifications": notifications,
                    "customerCreated": ticket.customer_created,
                    "warnings": warnings + ticket.warnings,
                }
            )
    except _Undo as undo:
        return undo.result

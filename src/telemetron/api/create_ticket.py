"""createTicket's steps around the pipeline: describe and categorize before the unit of work, then create.

    key → parsed request → [ask: which question, describe, categorize] → unit: idempotency, create → reply

The categorizer runs off the event loop, batched (``triage.runtime``), so it is asked before the
unit of work, never inside it. Which question to ask depends on the organization's configuration,
known only once the key is: when this process has the key's organization's configuration cached
and that configuration needs no categorizer (the ticket names an active category, or no category
is open to the AI), nothing is asked; otherwise a read-only unit authenticates the key and reads
the configuration committed now (``current_question``), and the categorizer answers that. The
unit that creates the ticket uses the answer as it is: a configuration committed between the two
units only removes categories from the answer (those no longer open to the AI) or, when the ticket
now needs the AI and was not asked, leaves it uncategorized for an agent, with a warning.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple, Protocol

import aiohttp
from sqlalchemy import Connection, bindparam, func, select

from telemetron.api.pipeline import Action, Call, Caller, Endpoint, Parsed, authorize
from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import outbox
from telemetron.notifications import events
from telemetron.observability.metrics import CATEGORIZER_LATENCY
from telemetron.orgs import config as org_config
from telemetron.orgs.apikeys import recent_organization
from telemetron.tickets.create import CreatedTicket, categorizer_request, create_ticket
from telemetron.tickets.requests import CreateTicketRequest, parse_create_ticket
from telemetron.triage import llm as llm_engine
from telemetron.triage.classifier import Prediction
from telemetron.triage.llm import LLMSettings
from telemetron.triage.runtime import Categorizer
from telemetron.triage.runtime import Request as Question


class AppContext(Protocol):
    """What the steps use of the application's context (``telemetron.app.AppContext``)."""

    db: Database
    categorizer: Categorizer
    llm: LLMSettings | None

    def http(self) -> aiohttp.ClientSession: ...

logger = logging.getLogger("telemetron.api")
# What a ticket gets when the categorizer cannot answer: uncategorized, waiting for triage.
NO_PREDICTION = Prediction(label=None, confidence=0.0, top=[])


class Prepared(NamedTuple):
    """What the steps before the unit found: the categorizer's answer and an LLM-written description."""

    prediction: Prediction | None = None
    written_description: str | None = None


def parse(body: Any, settings: Settings) -> Parsed[CreateTicketRequest]:
    request, warnings = parse_create_ticket(body, max_messages=settings.max_messages, max_text=settings.max_text_bytes)
    return Parsed(request, tuple(warnings))


# --- the steps before the unit of work -------------------------------------------------------------


def cached_question(call: Call) -> tuple[bool, Question | None]:
    """(known, question) from this process's cached configuration of the key's organization.

    ``known`` is true only when that configuration needs no categorizer for this ticket: an answer
    it would ask for could be outdated, so then the current configuration is read instead.
    """
    org_id = recent_organization(call.api_key)
    config = org_config.cache.latest(org_id) if org_id is not None else None
    if org_id is None or config is None or call.parsed is None:
        return False, None
    question = categorizer_request(org_id, config, call.parsed.value)
    return question is None, None


def current_question(conn: Connection, db: Database, call: Call) -> Question | None:
    """A read-only unit: authenticate the key (a 401 here costs no categorizer, no LLM call), then
    the question the configuration committed now asks for this ticket, if any."""
    caller = authorize(conn, db, call)
    assert call.parsed is not None
    return categorizer_request(caller.scoped.org_id, caller.config(), call.parsed.value)


async def prepare(ctx: AppContext, call: Call) -> Prepared:
    """The steps before the unit: the question, the LLM's description, the categorizer's answer."""
    if call.problem is not None:  # the unit answers it (after the key's 401, if any)
        return Prepared()
    request: CreateTicketRequest = call.parsed.value  # type: ignore[union-attr]
    known, question = cached_question(call)
    wants_description = ctx.llm is not None and request.description is None and bool(request.messages)
    if not known or wants_description:  # the LLM engine is never called for a key not checked yet
        question = await ctx.db.run(current_question, ctx.db, call)
    written = await _describe(ctx, request) if wants_description else None
    prediction = await categorize(ctx, question) if question is not None else None
    return Prepared(prediction, written)


async def _describe(ctx: AppContext, request: CreateTicketRequest) -> str | None:
    assert ctx.llm is not None and request.messages
    transcript = "\n".join(f"{m.role}: {m.content}" for m in request.messages)
    return await llm_engine.describe(ctx.http(), ctx.llm, transcript)


async def categorize(ctx: AppContext, question: Question) -> Prediction:
    """Categorize off the event loop, batched with other tickets; a failure leaves the ticket uncategorized."""
    started = time.perf_counter()
    try:
        prediction = None
        if ctx.llm is not None:  # the LLM decides when it answers; the offline engine otherwise
            prediction = await llm_engine.categorize(ctx.http(), ctx.llm, list(question.choices), question.text)
        if prediction is None:
            prediction = await ctx.categorizer.predict(question)
    except Exception:  # a broken model never costs a ticket: it is stored uncategorized
        logger.exception("categorizer failed; the ticket is left uncategorized")
        prediction = None
    CATEGORIZER_LATENCY.observe(time.perf_counter() - started)
    return prediction if prediction is not None else NO_PREDICTION


# --- the actions (in the unit of work) -----------------------------------------------------------


def create_action(prepared: Prepared) -> Action:
    def create(caller: Caller, parsed: Parsed[CreateTicketRequest]) -> dict[str, Any]:
        ticket = create_ticket(
            caller.scoped, parsed.value, config=caller.config(), prediction=prepared.prediction,
            written_description=prepared.written_description,
        )
        return created_body(ticket, parsed.warnings)

    return create


def created_body(ticket: CreatedTicket, warnings: tuple[str, ...]) -> dict[str, Any]:
    return {
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
        "warnings": [*warnings, *ticket.warnings],
    }


def dry_run_action(prepared: Prepared) -> Action:
    def dry(caller: Caller, parsed: Parsed[CreateTicketRequest]) -> dict[str, Any]:
        result = would_create(caller.scoped, parsed, config=caller.config(), prediction=prepared.prediction)
        return {"success": True, "message": "Dry run: nothing was created", **result}

    return dry


def _unused(_caller: Caller, _parsed: Parsed[Any]) -> dict[str, Any]:
    raise AssertionError("createTicket's actions are given with the categorizer's answer")


CREATE_TICKET = Endpoint("ticket/createTicket", parse, _unused)
# A dry run stores nothing, not even its reply: a retry simply runs again.
DRY_RUN = Endpoint("ticket/createTicket", parse, _unused, idempotent=False)


# --- dry runs -------------------------------------------------------------------------------------


def dry_run(scoped: Scoped, body: object) -> dict[str, Any]:
    """What createTicket would do with ``body``, storing nothing (the CLI's ``routing test``).

    The categorizer runs here, in the caller's thread (``tickets.create.categorize_now``).
    """
    request, warnings = parse_create_ticket(body)
    config = org_config.load(scoped)
    return would_create(scoped, Parsed(request, tuple(warnings)), config=config, categorize_inline=True)


def would_create(
    scoped: Scoped, parsed: Parsed[CreateTicketRequest], *, config: org_config.OrgConfig,
    prediction: Prediction | None = None, categorize_inline: bool = False,
) -> dict[str, Any]:
    """Run the real creation, so the answer cannot drift from what createTicket does, in a
    savepoint that is then rolled back: no ticket, customer, notification or round-robin turn is kept."""
    savepoint = scoped.conn.begin_nested()
    try:
        # What the ticket writes to the outbox comes after the newest row now: found by the
        # primary key, not a scan of every organization's messages.
        newest = scoped.conn.execute(select(func.max(outbox.c.id))).scalar() or 0
        ticket = create_ticket(scoped, parsed.value, config=config, prediction=prediction,
                               categorize_inline=categorize_inline)
        notifications = _planned_notifications(scoped, ticket.id, newest)
    finally:
        savepoint.rollback()
    return {
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
        "warnings": [*parsed.warnings, *ticket.warnings],
    }


_NEW_OUTBOX_ROWS = (
    tenant_select(outbox, outbox.c.channel, outbox.c.event, outbox.c.target, outbox.c.payload)
    .where(outbox.c.id > bindparam("newest"), outbox.c.ticket_id == bindparam("ticket_id"))
    .order_by(outbox.c.id)
)


def _planned_notifications(scoped: Scoped, ticket_id: str, newest: int) -> list[str]:
    """The ticket's event rows, as the deliveries a worker would fan them out to."""
    rows = scoped.execute(_NEW_OUTBOX_ROWS, {"newest": newest, "ticket_id": ticket_id}).all()
    return [
        f"slack {(payload or {}).get('channel') or '(default channel)'}" if channel == "slack" else f"webhook {target}"
        for channel, target, payload in events.planned(scoped.org_id, rows)
    ]

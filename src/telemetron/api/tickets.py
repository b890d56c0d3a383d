"""ext-v1 ticket endpoints. Handlers only read the request, call one unit of work, and answer."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.requests import api_key_of, read_json
from telemetron.api.routing import ext_v1
from telemetron.api.tickets_openapi import (
    ADD_MESSAGE_OPENAPI,
    CREATE_TICKET_OPENAPI,
    GET_TICKET_OPENAPI,
    QUERY_TICKETS_OPENAPI,
    UPDATE_TICKET_OPENAPI,
)
from telemetron.errors import AppError, InvalidRequest, Unauthorized
from telemetron.idempotency import service as idempotency
from telemetron.orgs import config as org_config
from telemetron.orgs.apikeys import authenticate, recent_organization
from telemetron.tickets.follow_schemas import parse_add_message, parse_query_tickets, parse_update_ticket
from telemetron.tickets.intake import IntakeRequest, create_ticket_response, dry_run_response
from telemetron.tickets.operations import (
    PendingRequest,
    add_message_response,
    authenticated,
    get_ticket_response,
    query_tickets_response,
    update_ticket_response,
)
from telemetron.tickets.schemas import parse_create_ticket
from telemetron.tickets.service import NeedsCategorizer, categorizer_request
from telemetron.tickets.views import canonical_ticket_id
from telemetron.triage import llm as llm_engine
from telemetron.triage.classifier import Prediction

logger = logging.getLogger("telemetron.api")
# What a ticket gets when the categorizer cannot answer: uncategorized, waiting for triage.
NO_PREDICTION = Prediction(label=None, confidence=0.0, top=[])


@ext_v1.post(
    "/api/ext-v1/ticket/createTicket", summary="Create a ticket", tag="tickets", openapi=CREATE_TICKET_OPENAPI
)
async def create_ticket(request: Request) -> Response:
    ctx = request.app.state.ctx
    api_key = api_key_of(request)
    if api_key is None:  # answered without touching the database
        raise Unauthorized("Missing API key: send it in the x-api-key header", code="missing_api_key")
    intake = IntakeRequest(api_key, None, [], None, None, None)
    try:
        body = await read_json(request, limit=ctx.settings.max_body_bytes)
        intake.request, intake.warnings = parse_create_ticket(
            body, max_messages=ctx.settings.max_messages, max_text=ctx.settings.max_text_bytes
        )
        raw_key = request.headers.get("idempotency-key")
        if raw_key is not None:
            intake.idempotency_key = idempotency.check_key(raw_key)
            intake.request_hash = idempotency.fingerprint(body)
    except AppError as problem:
        intake.problem = problem
    try:
        dry = _dry_run_asked(request)
    except AppError as problem:  # never a real ticket for a dry run we could not read
        intake.problem, dry = problem, False
    llm = ctx.llm
    if llm is None:  # categorized before the unit of work when this process can (see _early_question)
        intake.asked = _early_question(intake)
        if intake.asked is not None:
            intake.prediction = await _categorize(ctx, None, intake.asked)
    if dry:  # what would happen (category, routing, notifications), storing nothing
        unit = functools.partial(dry_run_response, body=body if intake.problem is None else None)
    else:
        unit = create_ticket_response
        if llm is not None and intake.problem is None and intake.request.description is None and intake.request.messages:
            await ctx.db.run(authenticate, api_key)  # never spend an LLM call on a request without a valid key
            transcript = "\n".join(f"{m.role}: {m.content}" for m in intake.request.messages)
            intake.written_description = await llm_engine.describe(ctx.http(), llm, transcript)
    try:
        status, payload, replayed = await ctx.db.run(unit, ctx.db, intake)
    except NeedsCategorizer as need:  # asked from the configuration the unit read: used as it is
        intake.asked, intake.prediction = None, await _categorize(ctx, llm, need.request)
        status, payload, replayed = await ctx.db.run(unit, ctx.db, intake)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


_DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}


def _dry_run_asked(request: Request) -> bool:
    """``?dryRun=true|false`` (also 1|0, any case, any spelling of the name). Anything else is a 400,
    not a real ticket."""
    # Any spelling of the name (dryrun, dry_run, DryRun): a misspelt dry run must not create a ticket.
    values = {v.strip().lower() for k, v in request.query_params.multi_items()
              if k.replace("_", "").replace("-", "").lower() == "dryrun"}
    if not values:
        return False
    if len(values) > 1 or not values <= _DRY_RUN_VALUES.keys():
        got = ", ".join(sorted(repr(v) for v in values))
        raise InvalidRequest(f"dryRun must be true or false (got {got}); nothing was created",
                             field="dryRun", code="invalid_dry_run")
    return _DRY_RUN_VALUES[values.pop()]


def _early_question(intake: IntakeRequest):
    """The categorizer's question for this ticket, when it can be asked before the unit of work.

    That is when this process has accepted the key before and has its organization's configuration
    cached: the ticket is then categorized first and written in one unit of work, instead of a unit
    that stops at ``NeedsCategorizer`` and a second one (about 0.3 ms of CPU and a batch's wait,
    per AI ticket). The unit still authenticates the key and reads the current configuration: if
    that asks another question (a new model, threshold or set of categories), the prediction is
    dropped and the ticket asked again; a revoked key gets its 401 having cost one local prediction
    (a refused key is forgotten). Never with the LLM engine: no paid call before the key is checked.
    """
    if intake.problem is not None or intake.request is None:
        return None
    org_id = recent_organization(intake.api_key)
    config = org_config.cache.latest(org_id) if org_id is not None else None
    return categorizer_request(org_id, config, intake.request) if config is not None else None


async def _categorize(ctx, llm, ask) -> Prediction:
    """Categorize off the event loop, batched with other tickets; a failure leaves the ticket uncategorized."""
    try:
        prediction = None
        if llm is not None:  # the LLM decides when it answers; the offline engine otherwise
            prediction = await llm_engine.categorize(ctx.http(), llm, list(ask.choices), ask.text)
        if prediction is None:
            prediction = await ctx.categorizer.predict(ask)
    except Exception:  # a broken model never costs a ticket: it is stored uncategorized
        logger.exception("categorizer failed; the ticket is left uncategorized")
        prediction = None
    return prediction if prediction is not None else NO_PREDICTION


def _json(payload: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


def _pending(request: Request) -> PendingRequest:
    api_key = api_key_of(request)
    if api_key is None:  # answered without touching the database
        raise Unauthorized("Missing API key: send it in the x-api-key header", code="missing_api_key")
    return PendingRequest(api_key)


async def _read(request: Request, parse: Callable[[Any], tuple[Any, list[str]]]) -> tuple[PendingRequest, Any]:
    """The key, and the parsed body or the problem with it (raised after authentication)."""
    pending = _pending(request)
    body = None
    try:
        body = await read_json(request, limit=request.app.state.ctx.settings.max_body_bytes)
        pending.request, pending.warnings = parse(body)
    except AppError as problem:
        pending.problem = problem
    return pending, body


@ext_v1.get(
    "/api/ext-v1/ticket/getTicket/{ticketId}",
    summary="Get a ticket with its messages",
    tag="tickets",
    openapi=GET_TICKET_OPENAPI,
)
async def get_ticket(request: Request) -> Response:
    ctx = request.app.state.ctx
    pending = _pending(request)
    pending.request = canonical_ticket_id(request.path_params["ticketId"])
    return _json(await ctx.db.run(get_ticket_response, ctx.db, pending))


@ext_v1.post(
    "/api/ext-v1/ticket/queryTickets", summary="List and filter tickets", tag="tickets", openapi=QUERY_TICKETS_OPENAPI
)
async def query_tickets(request: Request) -> Response:
    ctx = request.app.state.ctx
    pending, _ = await _read(request, parse_query_tickets)
    org_id = await ctx.db.run(authenticated, ctx.db, pending)  # may note the key's use: a write
    # A search or a filter may read many tickets: off the event loop, beside other requests.
    return _json(await ctx.db.read(query_tickets_response, ctx.db, org_id, pending))


@ext_v1.post(
    "/api/ext-v1/ticket/updateTicket",
    summary="Change a ticket's status, priority, category or assignee",
    tag="tickets",
    openapi=UPDATE_TICKET_OPENAPI,
)
async def update_ticket(request: Request) -> Response:
    ctx = request.app.state.ctx
    pending, _ = await _read(request, parse_update_ticket)
    return _json(await ctx.db.run(update_ticket_response, ctx.db, pending))


@ext_v1.post(
    "/api/ext-v1/ticket/addMessage", summary="Add a message to a ticket", tag="tickets", openapi=ADD_MESSAGE_OPENAPI
)
async def add_message(request: Request) -> Response:
    ctx = request.app.state.ctx
    max_text = ctx.settings.max_text_bytes
    pending, body = await _read(request, lambda b: parse_add_message(b, max_text=max_text))
    if pending.problem is None:
        raw_key = request.headers.get("idempotency-key")
        if raw_key is not None:
            try:
                pending.idempotency_key = idempotency.check_key(raw_key)
                pending.request_hash = idempotency.fingerprint(body)
            except AppError as problem:
                pending.problem = problem
    status, payload, replayed = await ctx.db.run(add_message_response, ctx.db, pending)
    return _json(payload, status, {"Idempotent-Replayed": "true"} if replayed else None)

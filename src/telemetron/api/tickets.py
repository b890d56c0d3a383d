"""ext-v1 ticket endpoints: each names its parser and its action to ``api.pipeline``.

createTicket adds the steps before its unit of work (``api.create_ticket.prepare``: describe and
categorize) and gives its action their answer.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.create_ticket import CREATE_TICKET, DRY_RUN, create_action, dry_run_action, prepare
from telemetron.api.pipeline import Endpoint, Parsed, path_parser, read_call, serve, serve_read, unit, warning_parser
from telemetron.api.routing import ext_v1
from telemetron.api.ticket_actions import (
    add_message_action,
    get_ticket_action,
    query_tickets_action,
    update_ticket_action,
)
from telemetron.api.tickets_openapi import (
    ADD_MESSAGE_OPENAPI,
    CREATE_TICKET_OPENAPI,
    GET_TICKET_OPENAPI,
    QUERY_TICKETS_OPENAPI,
    UPDATE_TICKET_OPENAPI,
)
from telemetron.config import Settings
from telemetron.errors import AppError, InvalidRequest
from telemetron.idempotency import service as idempotency
from telemetron.observability.metrics import TICKETS_CREATED
from telemetron.tickets.requests import (
    AddMessageRequest,
    parse_add_message,
    parse_query_tickets,
    parse_update_ticket,
)
from telemetron.tickets.serializers import canonical_ticket_id

GET_TICKET = Endpoint(
    "ticket/getTicket",
    path_parser(lambda params: canonical_ticket_id(params["ticketId"])),
    get_ticket_action,
    reads="path",
    idempotent=False,
)
QUERY_TICKETS = Endpoint("ticket/queryTickets", warning_parser(parse_query_tickets), query_tickets_action,
                         idempotent=False)
UPDATE_TICKET = Endpoint("ticket/updateTicket", warning_parser(parse_update_ticket), update_ticket_action,
                         idempotent=False)


def _parse_add_message(body: Any, settings: Settings) -> Parsed[AddMessageRequest]:
    message, warnings = parse_add_message(body, max_text=settings.max_text_bytes)
    return Parsed(message, tuple(warnings))


ADD_MESSAGE = Endpoint("ticket/addMessage", _parse_add_message, add_message_action)


@ext_v1.post(
    "/api/ext-v1/ticket/createTicket", summary="Create a ticket", tag="tickets", openapi=CREATE_TICKET_OPENAPI
)
async def create_ticket(request: Request) -> Response:
    ctx = request.app.state.ctx
    try:
        dry, problem = _dry_run_asked(request), None
    except AppError as exc:  # never a real ticket for a dry run we could not read
        dry, problem = False, exc
    call = await read_call(request, DRY_RUN if dry else CREATE_TICKET, problem=problem)
    prepared = await prepare(ctx, call)
    action = dry_run_action(prepared) if dry else create_action(prepared)
    reply = await ctx.db.run(unit, ctx.db, call, action)
    if not dry and not reply.replayed:
        TICKETS_CREATED.inc()
    return reply.response(request)


_DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}


def _dry_run_asked(request: Request) -> bool:
    """``?dryRun=true|false`` (also 1|0, any case, any spelling of the name). Anything else is a 400,
    not a real ticket; so is a dry run with an Idempotency-Key createTicket would refuse."""
    if not request.scope["query_string"]:
        return False
    # Any spelling of the name (dryrun, dry_run, DryRun): a misspelt dry run must not create a ticket.
    values = {v.strip().lower() for k, v in request.query_params.multi_items()
              if k.replace("_", "").replace("-", "").lower() == "dryrun"}
    if not values:
        return False
    if len(values) > 1 or not values <= _DRY_RUN_VALUES.keys():
        got = ", ".join(sorted(repr(v) for v in values))
        raise InvalidRequest(f"dryRun must be true or false (got {got}); nothing was created",
                             field="dryRun", code="invalid_dry_run")
    dry = _DRY_RUN_VALUES[values.pop()]
    key = request.headers.get("idempotency-key")
    if dry and key is not None:  # the real request would refuse a bad key: so does its dry run
        idempotency.check_key(key)
    return dry


@ext_v1.get(
    "/api/ext-v1/ticket/getTicket/{ticketId}",
    summary="Get a ticket with its messages",
    tag="tickets",
    openapi=GET_TICKET_OPENAPI,
)
async def get_ticket(request: Request) -> Response:
    return await serve(request, GET_TICKET)


@ext_v1.post(
    "/api/ext-v1/ticket/queryTickets", summary="List and filter tickets", tag="tickets", openapi=QUERY_TICKETS_OPENAPI
)
async def query_tickets(request: Request) -> Response:
    return await serve_read(request, QUERY_TICKETS)  # a search may read long: off the event loop


@ext_v1.post(
    "/api/ext-v1/ticket/updateTicket",
    summary="Change a ticket's status, priority, category or assignee",
    tag="tickets",
    openapi=UPDATE_TICKET_OPENAPI,
)
async def update_ticket(request: Request) -> Response:
    return await serve(request, UPDATE_TICKET)


@ext_v1.post(
    "/api/ext-v1/ticket/addMessage", summary="Add a message to a ticket", tag="tickets", openapi=ADD_MESSAGE_OPENAPI
)
async def add_message(request: Request) -> Response:
    return await serve(request, ADD_MESSAGE)

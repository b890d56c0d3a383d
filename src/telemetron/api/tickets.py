"""ext-v1 ticket endpoints. Handlers only read the request, call one unit of work, and answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.requests import api_key_of, read_json
from telemetron.api.routing import ext_v1
from telemetron.api.tickets_openapi import CREATE_TICKET_OPENAPI
from telemetron.errors import AppError, Unauthorized
from telemetron.idempotency import service as idempotency
from telemetron.tickets.intake import IntakeRequest, create_ticket_response
from telemetron.tickets.schemas import parse_create_ticket


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
            body, max_messages=ctx.settings.max_messages, max_text=ctx.settings.max_text_chars
        )
        raw_key = request.headers.get("idempotency-key")
        if raw_key is not None:
            intake.idempotency_key = idempotency.check_key(raw_key)
            intake.request_hash = idempotency.fingerprint(body)
    except AppError as problem:
        intake.problem = problem
    status, payload, replayed = await ctx.db.run(create_ticket_response, ctx.db, intake)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(payload, status_code=status, media_type="application/json", headers=headers)

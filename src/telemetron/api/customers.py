"""ext-v1 customers endpoints (issue 5). Handlers only read the request, call one unit of work, and answer.

``serve`` is the whole pattern, shared with ``api.devices``: a request without a key is a 401
before anything is read; the body is read and validated in the event loop, but a validation
error is raised only inside the unit of work, after the key was checked (a client without a
valid key learns nothing but 401); the unit of work authenticates, then runs the endpoint's
action with a ``Scoped`` of the key's organization, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.customers_openapi import (
    CREATE_OR_UPDATE_CUSTOMER_OPENAPI,
    GET_CUSTOMER_OPENAPI,
    GET_CUSTOMER_WITHOUT_ID_OPENAPI,
    QUERY_CUSTOMER_OPENAPI,
)
from telemetron.api.requests import api_key_of, read_json
from telemetron.api.routing import ext_v1
from telemetron.customers import records
from telemetron.customers.schemas import CustomerChanges, parse_create_or_update, parse_customer_id, parse_query
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError, Unauthorized
from telemetron.idempotency import service as idempotency
from telemetron.orgs.apikeys import authenticate

Action = Callable[[Scoped, Any], dict[str, Any]]


async def serve(
    request: Request, action: Action, parse: Callable[[Any], Any], *, body: bool = True
) -> Response:
    """Answer ``request`` with ``action(scoped, parse(body))`` run as one unit of work.

    With ``body=False`` (GET), ``parse`` gets the request's path parameters instead of a body.
    An ``Idempotency-Key`` header is honoured as by createTicket (same key and body: the first
    answer again, nothing done twice; another body: 422), keyed by the endpoint's path.
    """
    ctx = request.app.state.ctx
    api_key = api_key_of(request)
    if api_key is None:  # answered without touching the database
        raise Unauthorized("Missing API key: send it in the x-api-key header", code="missing_api_key")
    parsed: Any = None
    problem: AppError | None = None
    retry_key: tuple[str, str, str] | None = None
    try:
        source = await read_json(request, limit=ctx.settings.max_body_bytes) if body else request.path_params
        parsed = parse(source)
        raw_key = request.headers.get("idempotency-key") if body else None
        if raw_key is not None:
            retry_key = (idempotency.check_key(raw_key), request.url.path, idempotency.fingerprint(source))
    except AppError as exc:
        problem = exc
    payload, replayed = await ctx.db.run(_unit, ctx.db, api_key, problem, action, parsed, retry_key)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(payload, media_type="application/json", headers=headers)


def _unit(
    conn: Connection, db: Database, api_key: str, problem: AppError | None, action: Action, parsed: Any,
    retry_key: tuple[str, str, str] | None,
) -> tuple[bytes, bool]:
    org_id = authenticate(conn, api_key)
    if problem is not None:
        raise problem
    scoped = Scoped(db, conn, org_id)
    if retry_key is not None:
        key, endpoint, request_hash = retry_key
        stored = idempotency.claim(scoped, key=key, endpoint=endpoint, request_hash=request_hash)
        if stored is not None:
            return stored.body, True
    payload = orjson.dumps(action(scoped, parsed))
    if retry_key is not None:
        idempotency.store(scoped, key=retry_key[0], status=200, body=payload)
    return payload, False


# --- actions (run inside the unit of work) -------------------------------------------------------


def _create_or_update(scoped: Scoped, changes: CustomerChanges) -> dict[str, Any]:
    customer_id, created = records.create_or_update(scoped, changes)
    return {
        "success": True,
        "telemetronCustomerId": customer_id,
        "message": "Customer created successfully" if created else "Customer updated successfully",
    }


def _record(record: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "message": "Customer retrieved successfully", **record}


def _query(scoped: Scoped, email: str) -> dict[str, Any]:
    return _record(records.record_by_email(scoped, email))


def _get(scoped: Scoped, customer_id: str) -> dict[str, Any]:
    return _record(records.record_by_id(scoped, customer_id))


# --- routes ---------------------------------------------------------------------------------------


@ext_v1.post(
    "/api/ext-v1/customer/createOrUpdateCustomer",
    summary="Create or update a customer",
    tag="customers",
    openapi=CREATE_OR_UPDATE_CUSTOMER_OPENAPI,
)
async def create_or_update_customer(request: Request) -> Response:
    return await serve(request, _create_or_update, parse_create_or_update)


@ext_v1.post(
    "/api/ext-v1/customer/queryCustomer",
    summary="Query a customer by email",
    tag="customers",
    openapi=QUERY_CUSTOMER_OPENAPI,
)
async def query_customer(request: Request) -> Response:
    return await serve(request, _query, parse_query)


@ext_v1.get(
    "/api/ext-v1/customer/getCustomer/{telemetronCustomerId}",
    summary="Get a customer by id",
    tag="customers",
    openapi=GET_CUSTOMER_OPENAPI,
)
async def get_customer(request: Request) -> Response:
    return await serve(request, _get, lambda params: parse_customer_id(params.get("telemetronCustomerId")), body=False)


@ext_v1.get(
    "/api/ext-v1/customer/getCustomer/",
    summary="Get a customer by id: the id is missing",
    tag="customers",
    openapi=GET_CUSTOMER_WITHOUT_ID_OPENAPI,
)
async def get_customer_without_id(request: Request) -> Response:
    """``/customer/getCustomer/`` (and, by redirect, ``/customer/getCustomer``): 400 "Customer ID is required"."""
    return await serve(request, _get, lambda _params: parse_customer_id(None), body=False)

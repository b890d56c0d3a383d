"""ext-v1 customers endpoints: each names its parser and its action to ``api.pipeline``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.customers_openapi import (
    CREATE_OR_UPDATE_CUSTOMER_OPENAPI,
    GET_CUSTOMER_OPENAPI,
    GET_CUSTOMER_WITHOUT_ID_OPENAPI,
    QUERY_CUSTOMER_OPENAPI,
)
from telemetron.api.pipeline import Caller, Endpoint, Parsed, body_parser, path_parser, serve
from telemetron.api.routing import ext_v1
from telemetron.customers import records
from telemetron.customers.schemas import CustomerChanges, parse_create_or_update, parse_customer_id, parse_query

# --- actions (run inside the unit of work) -------------------------------------------------------


def _create_or_update(caller: Caller, changes: Parsed[CustomerChanges]) -> dict[str, Any]:
    customer_id, created = records.create_or_update(caller.scoped, changes.value)
    return {
        "success": True,
        "telemetronCustomerId": customer_id,
        "message": "Customer created successfully" if created else "Customer updated successfully",
    }


def _record(record: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "message": "Customer retrieved successfully", **record}


def _query(caller: Caller, email: Parsed[str]) -> dict[str, Any]:
    return _record(records.record_by_email(caller.scoped, email.value))


def _get(caller: Caller, customer_id: Parsed[str]) -> dict[str, Any]:
    return _record(records.record_by_id(caller.scoped, customer_id.value))


CREATE_OR_UPDATE = Endpoint("customer/createOrUpdateCustomer", body_parser(parse_create_or_update), _create_or_update)
QUERY = Endpoint("customer/queryCustomer", body_parser(parse_query), _query)
GET = Endpoint(
    "customer/getCustomer",
    path_parser(lambda params: parse_customer_id(params.get("telemetronCustomerId"))),
    _get,
    reads="path",
    idempotent=False,
)


# --- routes ---------------------------------------------------------------------------------------


@ext_v1.post(
    "/api/ext-v1/customer/createOrUpdateCustomer",
    summary="Create or update a customer",
    tag="customers",
    openapi=CREATE_OR_UPDATE_CUSTOMER_OPENAPI,
)
async def create_or_update_customer(request: Request) -> Response:
    return await serve(request, CREATE_OR_UPDATE)


@ext_v1.post(
    "/api/ext-v1/customer/queryCustomer",
    summary="Query a customer by email",
    tag="customers",
    openapi=QUERY_CUSTOMER_OPENAPI,
)
async def query_customer(request: Request) -> Response:
    return await serve(request, QUERY)


@ext_v1.get(
    "/api/ext-v1/customer/getCustomer/{telemetronCustomerId}",
    summary="Get a customer by id",
    tag="customers",
    openapi=GET_CUSTOMER_OPENAPI,
)
async def get_customer(request: Request) -> Response:
    return await serve(request, GET)


@ext_v1.get(
    "/api/ext-v1/customer/getCustomer/",
    summary="Get a customer by id: the id is missing",
    tag="customers",
    openapi=GET_CUSTOMER_WITHOUT_ID_OPENAPI,
)
async def get_customer_without_id(request: Request) -> Response:
    """``/customer/getCustomer/`` (and, by redirect, ``/customer/getCustomer``): 400 "Customer ID is required"."""
    return await serve(request, GET)  # no telemetronCustomerId among the path parameters

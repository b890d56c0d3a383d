"""The one way an ext-v1 request is served: key → parsed request → idempotency claim → unit of work → reply.

Every ext-v1 handler names an ``Endpoint`` (its parser and its action) and calls ``serve``:

1. ``read_call`` (event loop): a request without a key is a 401 before anything is read. The body
   (or the path parameters) is read and parsed into a frozen value; a problem with it is kept, not
   raised, so that a client without a valid key learns nothing but 401.
2. ``unit`` (one transaction, ``Database.run``): authenticate the key, then raise the kept problem,
   then claim the ``Idempotency-Key`` (keyed by the endpoint's name: the same key and body get the
   stored reply, another body a 422), run the action, store its reply, commit.

createTicket adds its own steps between the two (``api.create_ticket``) and passes its action the
categorizer's answer; everything else is this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from telemetron.api.requests import api_key_of, read_json
from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.errors import AppError
from telemetron.idempotency import service as idempotency
from telemetron.orgs import apikeys
from telemetron.orgs import config as org_config

T = TypeVar("T")
# The values a request passes through are NamedTuples: immutable like frozen dataclasses, and
# built in a fraction of their time (a frozen dataclass sets each field through object.__setattr__).


class Parsed(NamedTuple, Generic[T]):
    """A request as its parser understood it, with the warnings the reply repeats (unknown fields...)."""

    value: T
    warnings: tuple[str, ...] = ()


class Caller(NamedTuple):
    """The authenticated organization, in the unit of work's transaction."""

    scoped: Scoped
    config_version: int

    def config(self) -> org_config.OrgConfig:
        """The organization's routing/notification/categorizer configuration as committed now."""
        return org_config.cache.get(self.scoped, self.config_version)


Parser = Callable[[Any, Settings], Parsed[Any]]
Action = Callable[[Caller, Parsed[Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An ext-v1 operation as the pipeline runs it.

    ``name`` is also the operation's idempotency scope ("ticket/createTicket"): a key is bound to
    one endpoint. ``reads`` says where the request is: the JSON body or the path parameters.
    """

    name: str
    parse: Parser
    action: Action
    reads: Literal["body", "path"] = "body"
    idempotent: bool = True


class RetryKey(NamedTuple):
    key: str
    request_hash: str


class Call(NamedTuple):
    """What the event loop read from one request, before the database is touched."""

    endpoint: Endpoint
    api_key: str
    parsed: Parsed[Any] | None
    problem: AppError | None  # raised only once the key is known good
    retry: RetryKey | None


class Reply(NamedTuple):
    body: bytes
    organization_id: str  # the caller's, for the access log
    replayed: bool = False

    def response(self, request: Request) -> Response:
        request.scope.setdefault("state", {})["organization_id"] = self.organization_id
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        return Response(self.body, media_type="application/json", headers=headers)


def api_key_required(request: Request) -> str:
    """The request's key; a 401 without one, answered without touching the database."""
    key = api_key_of(request)
    if key is None:
        raise apikeys.missing_api_key()
    return key


async def read_call(request: Request, endpoint: Endpoint, *, problem: AppError | None = None) -> Call:
    """Read ``request`` for ``endpoint``; ``problem`` is one its handler found already (a bad query)."""
    api_key = api_key_required(request)
    settings: Settings = request.app.state.ctx.settings
    source: Any = None
    parsed = retry = None
    try:
        if endpoint.reads == "body":
            source = await read_json(request, limit=settings.max_body_bytes)
        else:
            source = dict(request.path_params)
        parsed = endpoint.parse(source, settings)
        raw_key = request.headers.get("idempotency-key") if endpoint.idempotent else None
        if raw_key is not None:
            retry = RetryKey(idempotency.check_key(raw_key), idempotency.fingerprint(source))
    except AppError as exc:
        problem = problem or exc
    if problem is not None:
        parsed = retry = None
    return Call(endpoint, api_key, parsed, problem, retry)


def authorize(conn: Connection, db: Database, call: Call) -> Caller:
    """Authenticate the key, then raise the request's problem, if any: in that order."""
    org_id, config_version = apikeys.authenticate_caller(conn, call.api_key)
    if call.problem is not None:
        raise call.problem
    return Caller(Scoped(db, conn, org_id), config_version)


def unit(conn: Connection, db: Database, call: Call, action: Action | None = None) -> Reply:
    """One request's unit of work: its action (``call.endpoint.action`` unless given) and stored reply."""
    caller = authorize(conn, db, call)
    assert call.parsed is not None  # no problem, so parsed
    if call.retry is not None:
        stored = idempotency.claim(
            caller.scoped, key=call.retry.key, endpoint=call.endpoint.name, request_hash=call.retry.request_hash
        )
        if stored is not None:
            return Reply(stored.body, caller.scoped.org_id, replayed=True)
    body = orjson.dumps((action or call.endpoint.action)(caller, call.parsed))
    if call.retry is not None:
        idempotency.store(caller.scoped, key=call.retry.key, status=200, body=body)
    return Reply(body, caller.scoped.org_id)


async def serve(request: Request, endpoint: Endpoint) -> Response:
    """Answer ``request`` with ``endpoint``'s action, run as one unit of work."""
    db: Database = request.app.state.ctx.db
    call = await read_call(request, endpoint)
    reply = await db.run(unit, db, call)
    return reply.response(request)


def _authorized(conn: Connection, db: Database, call: Call) -> tuple[str, int]:
    caller = authorize(conn, db, call)
    return caller.scoped.org_id, caller.config_version


def _read_unit(conn: Connection, db: Database, call: Call, org_id: str, config_version: int) -> Reply:
    assert call.parsed is not None
    body = orjson.dumps(call.endpoint.action(Caller(Scoped(db, conn, org_id), config_version), call.parsed))
    return Reply(body, org_id)


async def serve_read(request: Request, endpoint: Endpoint) -> Response:
    """``serve`` for an endpoint that only reads, and may read long (a search over a million
    tickets): the key is checked in a unit of work (it may note the key's use, a write), then the
    action runs in a reader thread (``Database.read``), off the event loop and out of the batches."""
    db: Database = request.app.state.ctx.db
    call = await read_call(request, endpoint)
    org_id, config_version = await db.run(_authorized, db, call)
    return (await db.read(_read_unit, db, call, org_id, config_version)).response(request)


# --- parser adapters -------------------------------------------------------------------------------


def body_parser(parse: Callable[[Any], T]) -> Parser:
    """A parser of the body that has no warnings to add (customers, devices)."""
    return lambda body, _settings: Parsed(parse(body))


def warning_parser(parse: Callable[[Any], tuple[T, list[str]]]) -> Parser:
    """A parser of the body that returns (value, warnings) (tickets)."""

    def parser(body: Any, _settings: Settings) -> Parsed[T]:
        value, warnings = parse(body)
        return Parsed(value, tuple(warnings))

    return parser


def path_parser(parse: Callable[[Mapping[str, Any]], T]) -> Parser:
    return lambda params, _settings: Parsed(parse(params))

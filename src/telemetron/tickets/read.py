"""queryTickets: an organization's tickets, filtered, a page at a time, by keyset pagination.

Order:
- by default, newest first: ``(created_at, id)`` descending. Tickets created during a walk are
  newer than the walk's position and do not appear in it; every ticket that existed when the walk
  began appears exactly once.
- with ``updatedAfter``, oldest change first: ``(updated_at, id)`` ascending. This is the order
  for following changes: a ticket that changes during the walk moves behind the walk's position
  and shows up again, with its new state, later in the same walk; none is ever skipped. A client
  polls with the last ``updatedAt`` it saw as the next ``updatedAfter``.

A page is ``WHERE organization_id = :org AND <filters> AND (time, id) < (:t, :id) ORDER BY time,
id LIMIT n + 1`` on the index ``(organization_id, time, id)``: it costs the same on page 1 and
page 50,000, unlike OFFSET. The extra row says whether there is a next page, so the last page has
``nextCursor: null`` rather than leading to an empty page.

The cursor is opaque to clients (URL-safe base64 of a small JSON array): the order, the last
row's time and id, and a fingerprint of the filters. A cursor sent with other filters than the
ones it was made for is a 400 (``cursor_mismatch``) rather than a page of some other query.
Cursors carry no secret and need none: whatever a client puts in one, the query stays scoped to
its own organization.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, tuple_

from telemetron.categories import service as categories
from telemetron.customers import service as customers
from telemetron.db.scoped import Scoped
from telemetron.db.tables import tickets
from telemetron.errors import InvalidRequest, shown
from telemetron.tickets import search
from telemetron.tickets.requests import UNCATEGORIZED, TicketQuery
from telemetron.tickets.serializers import SUMMARIES, canonical_ticket_id, summary_json

NEWEST_CREATED = "c"  # (created_at, id) descending
OLDEST_UPDATE = "u"  # (updated_at, id) ascending
OLDEST_CREATED = "ca"
NEWEST_UPDATE = "ud"  # last activity first
BY_RELEVANCE = "r"  # best match first; its cursor is a position in the ranking
_ORDERS = {("createdAt", True): NEWEST_CREATED, ("createdAt", False): OLDEST_CREATED,
           ("updatedAt", True): NEWEST_UPDATE, ("updatedAt", False): OLDEST_UPDATE}
_DESCENDING = (NEWEST_CREATED, NEWEST_UPDATE)
_CURSOR_VERSION = 1
_MAX_CURSOR = 512
_t = tickets.c


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which filters a query uses: one prebuilt statement per shape (there are a few hundred at most)."""

    order: str
    statuses: bool
    priorities: bool
    category: str | None  # None, "id" or "none"
    customer: bool
    created_after: bool
    updated_after: bool
    cursor: bool
    search: str | None = None  # None or a mode of tickets.search
    dialect: str = ""  # set when the statement differs by database (search)


def order_time(order: str):
    return _t.created_at if order in (NEWEST_CREATED, OLDEST_CREATED) else _t.updated_at


def keyset(stmt: Select, order: str, *, cursor: bool) -> Select:
    """Order by ``order``'s (time, id), after the cursor's position (``:cursor_time``, ``:cursor_id``)."""
    time = order_time(order)
    descending = order in _DESCENDING
    if cursor:
        at = bindparam("cursor_time", type_=time.type)
        position = tuple_(time, _t.id), tuple_(at, bindparam("cursor_id", type_=_t.id.type))
        # The plain range on the time column lets any planner seek the index; the row-value
        # comparison breaks ties between tickets of the same microsecond by id.
        if descending:
            stmt = stmt.where(time <= at, position[0] < position[1])
        else:
            stmt = stmt.where(time >= at, position[0] > position[1])
    if descending:
        return stmt.order_by(time.desc(), _t.id.desc())
    return stmt.order_by(time.asc(), _t.id.asc())


@cache
def _statement(shape: _Shape) -> Select:
    stmt = search.searched(shape.dialect, shape.search) if shape.search else SUMMARIES
    if shape.statuses:
        stmt = stmt.where(_t.status.in_(bindparam("statuses", expanding=True)))
    if shape.priorities:
        stmt = stmt.where(_t.priority.in_(bindparam("priorities", expanding=True)))
    if shape.category == "id":
        stmt = stmt.where(_t.category_id == bindparam("category_id"))
    elif shape.category == "none":
        stmt = stmt.where(_t.category_id.is_(None))
    if shape.customer:
        stmt = stmt.where(_t.customer_id == bindparam("customer_id"))
    if shape.created_after:
        stmt = stmt.where(_t.created_at > bindparam("created_after"))
    if shape.updated_after:
        stmt = stmt.where(_t.updated_at > bindparam("updated_after"))
    if shape.order == BY_RELEVANCE:
        stmt = search.ranked(stmt, shape.dialect).offset(bindparam("offset"))
    else:
        stmt = keyset(stmt, shape.order, cursor=shape.cursor)
    return stmt.limit(bindparam("page_size"))


def _fingerprint(query: TicketQuery) -> str:
    filters = [
        query.statuses,
        query.priorities,
        categories.name_key(query.category) if query.category is not None else None,
        query.customer_id,
        query.customer_email,
        query.created_after.isoformat() if query.created_after else None,
        query.updated_after.isoformat() if query.updated_after else None,
    ]
    if query.q is not None:  # (cursors of queries without q keep their fingerprint)
        filters.append(query.q)
    return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]


def encode_cursor(order: str, time: datetime, ticket_id: str, fingerprint: str) -> str:
    raw = orjson.dumps([_CURSOR_VERSION, order, time.isoformat(timespec="microseconds"), ticket_id, fingerprint])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cursor_after(query: TicketQuery, time: datetime, ticket_id: str) -> str:
    """The ``nextCursor`` of a page of ``query`` that ends with this ticket (the API document's example)."""
    return encode_cursor(_ORDERS[query.sort, query.descending], time, ticket_id, _fingerprint(query))


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor is not a cursor this API returned; send the nextCursor of the previous page unchanged, "
        "or leave cursor out to start from the first page",
        field="cursor",
        code="invalid_cursor",
    )


def encode_offset(offset: int, fingerprint: str) -> str:
    """A ``BY_RELEVANCE`` cursor: how many of the best matches the previous pages held."""
    raw = orjson.dumps([_CURSOR_VERSION, BY_RELEVANCE, str(offset), "", fingerprint])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decoded(cursor: str, *, order: str, fingerprint: str, check: Callable[[str, str], Any]) -> Any:
    """``check(position, id)`` of the cursor's values; 400 for garbage (``check`` raising
    ValueError) or another query's cursor."""
    if len(cursor) > _MAX_CURSOR:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, cursor_order, position, ticket_id, cursor_fingerprint = orjson.loads(raw)
        if version != _CURSOR_VERSION or not all(
            isinstance(v, str) for v in (cursor_order, position, ticket_id, cursor_fingerprint)
        ):
            raise ValueError("malformed")
        checked = check(position, ticket_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if cursor_order != order or cursor_fingerprint != fingerprint:
        raise InvalidRequest(
            "cursor belongs to a query with other filters; send the same filters as for the first page, "
            "or leave cursor out to start over",
            field="cursor",
            code="cursor_mismatch",
        )
    return checked


def _time_and_id(time: str, ticket_id: str) -> tuple[datetime, str]:
    at = datetime.fromisoformat(time)
    if at.tzinfo is None or canonical_ticket_id(ticket_id) != ticket_id:
        raise ValueError("malformed")
    return at, ticket_id


def _offset(offset: str, _ticket_id: str) -> int:
    if not offset.isdigit() or len(offset) > 9:
        raise ValueError("malformed")
    return int(offset)


def peek_order(cursor: str) -> str:
    """The order a cursor was made for, unchecked ("" for garbage: decoding it says what is wrong)."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor[:_MAX_CURSOR] + "=" * (-len(cursor) % 4)))
        return raw[1] if isinstance(raw, list) and len(raw) > 1 and isinstance(raw[1], str) else ""
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        return ""


def decode_cursor(cursor: str, *, order: str, fingerprint: str) -> tuple[datetime, str]:
    """(time, id) of the last ticket of the previous page; 400 for garbage or another query's cursor."""
    return _decoded(cursor, order=order, fingerprint=fingerprint, check=_time_and_id)


def decode_offset(cursor: str, *, fingerprint: str) -> int:
    return _decoded(cursor, order=BY_RELEVANCE, fingerprint=fingerprint, check=_offset)


@dataclass(frozen=True, slots=True)
class _NoMatch:
    """A filter that no ticket can match: the page is empty, with what to tell the client."""

    warnings: list[str]


def query_tickets(scoped: Scoped, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """(page of ticket summaries, next cursor or None, warnings)."""
    order = BY_RELEVANCE if query.sort == "relevance" else _ORDERS[query.sort, query.descending]
    fingerprint = _fingerprint(query)
    params = _position(query, order, fingerprint)
    shape = _filters(scoped, query, order, params)
    if isinstance(shape, _NoMatch):
        return [], None, shape.warnings
    rows = scoped.execute(_statement(shape), params).all()
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return [summary_json(row) for row in page], _next_cursor(page, order, params, fingerprint) if more else None, []


def _position(query: TicketQuery, order: str, fingerprint: str) -> dict[str, Any]:
    """The page's size (one more row says whether a next page exists) and where it starts."""
    params: dict[str, Any] = {"page_size": query.limit + 1}
    if order == BY_RELEVANCE:
        params["offset"] = decode_offset(query.cursor, fingerprint=fingerprint) if query.cursor else 0
    elif query.cursor is not None:
        params["cursor_time"], params["cursor_id"] = decode_cursor(query.cursor, order=order, fingerprint=fingerprint)
    return params


def _filters(scoped: Scoped, query: TicketQuery, order: str, params: dict[str, Any]) -> _Shape | _NoMatch:
    """The statement's shape for ``query``, its values added to ``params``."""
    searched = _search(scoped, query, order, params)
    if isinstance(searched, _NoMatch):
        return searched
    category = _category(scoped, query, params)
    if isinstance(category, _NoMatch):
        return category
    customer_id = _customer(scoped, query)
    if isinstance(customer_id, _NoMatch):
        return customer_id
    values = {
        "customer_id": customer_id,
        "statuses": list(query.statuses) if query.statuses is not None else None,
        "priorities": list(query.priorities) if query.priorities is not None else None,
        "created_after": query.created_after,
        "updated_after": query.updated_after,
    }
    params.update((name, value) for name, value in values.items() if value is not None)
    mode, dialect = searched
    return _Shape(
        order=order,
        statuses=query.statuses is not None,
        priorities=query.priorities is not None,
        category=category,
        customer=customer_id is not None,
        created_after=query.created_after is not None,
        updated_after=query.updated_after is not None,
        cursor=query.cursor is not None and order != BY_RELEVANCE,
        search=mode,
        dialect=dialect,
    )


def _search(scoped: Scoped, query: TicketQuery, order: str, params: dict[str, Any]) -> tuple[str | None, str] | _NoMatch:
    """(the search's plan, the database's dialect), or (None, "") without ``q``."""
    mode, dialect = None, ""
    if query.q is not None:
        terms = search.parse(query.q)
        if not terms:
            return _NoMatch([f"q {shown(query.q)} holds no word to search for (letters or digits)"])
        dialect = scoped.conn.dialect.name
        plan = search.plan_ranked if order == BY_RELEVANCE else search.plan
        mode, params["fts"] = plan(scoped, terms)
    search.custom_plans(scoped)
    return mode, dialect


def _category(scoped: Scoped, query: TicketQuery, params: dict[str, Any]) -> str | None | _NoMatch:
    """"none" (uncategorized tickets), "id" (one category, in ``params``) or None (any)."""
    if query.category is None:
        return None
    if categories.name_key(query.category) == UNCATEGORIZED:
        return "none"
    found = categories.find_by_name(scoped, query.category, active_only=False)
    if found is None:
        return _NoMatch([f"category '{query.category}' matches no category of this organization"])
    params["category_id"] = found["id"]
    return "id"


def _customer(scoped: Scoped, query: TicketQuery) -> str | None | _NoMatch:
    """The customer whose tickets are asked for, by id or email (both: they must agree), or None."""
    if query.customer_email is None:
        return query.customer_id
    found = customers.find_by_email(scoped, query.customer_email)
    if found is None or (query.customer_id is not None and query.customer_id != found["id"]):
        return _NoMatch([])
    return found["id"]


def _next_cursor(page: Sequence[Any], order: str, params: dict[str, Any], fingerprint: str) -> str:
    if order == BY_RELEVANCE:
        return encode_offset(params["offset"] + len(page), fingerprint)
    last = page[-1]
    return encode_cursor(order, getattr(last, order_time(order).key), last.id, fingerprint)

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
from telemetron.errors import InvalidRequest
from telemetron.tickets.follow_schemas import UNCATEGORIZED, TicketQuery
from telemetron.tickets.views import SUMMARIES, canonical_ticket_id, summary_json

NEWEST_CREATED = "c"  # (created_at, id) descending
OLDEST_UPDATE = "u"  # (updated_at, id) ascending
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


@cache
def _statement(shape: _Shape) -> Select:
    stmt = SUMMARIES
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
    time = _t.created_at if shape.order == NEWEST_CREATED else _t.updated_at
    if shape.cursor:
        at = bindparam("cursor_time", type_=time.type)
        position = tuple_(time, _t.id), tuple_(at, bindparam("cursor_id", type_=_t.id.type))
        # The plain range on the time column lets any planner seek the index; the row-value
        # comparison breaks ties between tickets of the same microsecond by id.
        if shape.order == NEWEST_CREATED:
            stmt = stmt.where(time <= at, position[0] < position[1])
        else:
            stmt = stmt.where(time >= at, position[0] > position[1])
    if shape.order == NEWEST_CREATED:
        stmt = stmt.order_by(time.desc(), _t.id.desc())
    else:
        stmt = stmt.order_by(time.asc(), _t.id.asc())
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
    return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]


def encode_cursor(order: str, time: datetime, ticket_id: str, fingerprint: str) -> str:
    raw = orjson.dumps([_CURSOR_VERSION, order, time.isoformat(timespec="microseconds"), ticket_id, fingerprint])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor is not a cursor this API returned; send the nextCursor of the previous page unchanged, "
        "or leave cursor out to start from the first page",
        field="cursor",
        code="invalid_cursor",
    )


def decode_cursor(cursor: str, *, order: str, fingerprint: str) -> tuple[datetime, str]:
    """(time, id) of the last ticket of the previous page; 400 for garbage or another query's cursor."""
    if len(cursor) > _MAX_CURSOR:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, cursor_order, time, ticket_id, cursor_fingerprint = orjson.loads(raw)
        if version != _CURSOR_VERSION or not all(
            isinstance(v, str) for v in (cursor_order, time, ticket_id, cursor_fingerprint)
        ):
            raise ValueError("malformed")
        at = datetime.fromisoformat(time)
        if at.tzinfo is None or canonical_ticket_id(ticket_id) != ticket_id:
            raise ValueError("malformed")
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if cursor_order != order or cursor_fingerprint != fingerprint:
        raise InvalidRequest(
            "cursor belongs to a query with other filters; send the same filters as for the first page, "
            "or leave cursor out to start over",
            field="cursor",
            code="cursor_mismatch",
        )
    return at, ticket_id


def query_tickets(scoped: Scoped, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """(page of ticket summaries, next cursor or None, warnings)."""
    order = OLDEST_UPDATE if query.updated_after is not None else NEWEST_CREATED
    fingerprint = _fingerprint(query)
    params: dict[str, Any] = {"page_size": query.limit + 1}
    if query.cursor is not None:
        params["cursor_time"], params["cursor_id"] = decode_cursor(query.cursor, order=order, fingerprint=fingerprint)

    category = None
    if query.category is not None:
        if categories.name_key(query.category) == UNCATEGORIZED:
            category = "none"
        else:
            found = categories.find_by_name(scoped, query.category, active_only=False)
            if found is None:
                return [], None, [f"category '{query.category}' matches no category of this organization"]
            category, params["category_id"] = "id", found["id"]

    customer_id = query.customer_id
    if query.customer_email is not None:
        found = customers.find_by_email(scoped, query.customer_email)
        if found is None or (customer_id is not None and customer_id != found["id"]):
            return [], None, []
        customer_id = found["id"]
    if customer_id is not None:
        params["customer_id"] = customer_id

    if query.statuses is not None:
        params["statuses"] = list(query.statuses)
    if query.priorities is not None:
        params["priorities"] = list(query.priorities)
    if query.created_after is not None:
        params["created_after"] = query.created_after
    if query.updated_after is not None:
        params["updated_after"] = query.updated_after

    shape = _Shape(
        order=order,
        statuses=query.statuses is not None,
        priorities=query.priorities is not None,
        category=category,
        customer=customer_id is not None,
        created_after=query.created_after is not None,
        updated_after=query.updated_after is not None,
        cursor=query.cursor is not None,
    )
    rows = scoped.execute(_statement(shape), params).all()
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        time = last.created_at if order == NEWEST_CREATED else last.updated_at
        next_cursor = encode_cursor(order, time, last.id, fingerprint)
    return [summary_json(row) for row in page], next_cursor, []

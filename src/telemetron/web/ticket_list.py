"""The agents' ticket list (``/tickets``): filters, full-text search, sorts, and what needs them now.

It reuses queryTickets' pieces: the summaries (``tickets.serializers``), the keyset cursors and orders
(``tickets.read``) and the search (``tickets.search``), and adds what an agent needs that the
API has not: assigned to me / unassigned, "not resolved", a sort by priority, and which tickets
have customer messages this agent has not seen (``tickets.activity``).

Sorted by last activity by default (a new customer message brings a ticket to the top). By
priority: urgent first, each priority by last activity, read one priority at a time on its own
index, so a page costs the same at any depth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, literal_column

from telemetron.categories import service as categories
from telemetron.db.scoped import Scoped
from telemetron.db.tables import tickets
from telemetron.enums import PRIORITIES, STATUSES
from telemetron.members.auth import SignedIn
from telemetron.tickets import activity, search
from telemetron.tickets.read import (
    NEWEST_CREATED,
    NEWEST_UPDATE,
    decode_cursor,
    encode_cursor,
    keyset,
    order_time,
    peek_order,
)
from telemetron.tickets.serializers import SUMMARIES, summary_json

PAGE_SIZE = 25
MAX_SEARCH = 200
UNRESOLVED = "unresolved"
STATUS_FILTERS = ("", UNRESOLVED, *STATUSES)
NEEDS_TRIAGE = "none"
SORTS = ("activity", "created", "priority")
_BY_PRIORITY = ("urgent", "high", "medium", "low")
_t = tickets.c


@dataclass(frozen=True, slots=True)
class ListFilters:
    status: str = UNRESOLVED  # "" (all), "unresolved", or a status
    priority: str = ""
    category_id: str = ""  # "" (all), "none" (needs triage), or a category id
    assignee: str = ""  # "" (anyone), "me", "unassigned"
    search: str = ""
    cursor: str = ""
    sort: str = "activity"

    @classmethod
    def from_query(cls, params) -> ListFilters:
        def pick(name: str, allowed: tuple[str, ...], default: str = "") -> str:
            value = params.get(name, default)
            return value if value in allowed else default

        return cls(
            status=pick("status", STATUS_FILTERS, UNRESOLVED),
            priority=pick("priority", ("", *PRIORITIES)),
            category_id=params.get("category", "")[:40],
            assignee=pick("assignee", ("", "me", "unassigned")),
            search=params.get("q", "").strip()[:MAX_SEARCH],
            cursor=params.get("cursor", "")[:600],
            sort=pick("sort", SORTS, "activity"),
        )

    def query(self, **changes: str) -> dict[str, str]:
        """The filters as query parameters (the defaults left out), with ``changes`` applied."""
        values = {"status": self.status, "priority": self.priority, "category": self.category_id,
                  "assignee": self.assignee, "q": self.search, "sort": self.sort, "cursor": ""}
        values.update(changes)
        return {k: v for k, v in values.items()
                if (v or (k == "status" and v != UNRESOLVED)) and not (k == "sort" and v == "activity")}

    def fingerprint(self, member_id: str) -> str:
        filters = [self.status, self.priority, self.category_id, self.assignee, self.search.lower(), member_id]
        return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]


def _conditions(filters: ListFilters, member: SignedIn, params: dict[str, Any]) -> list:
    where = []
    if filters.status == UNRESOLVED:
        # Written as the partial indexes' predicate (a literal, not a parameter), so they serve it.
        where.append(_t.status != literal_column("'resolved'"))
    elif filters.status:
        where.append(_t.status == bindparam("status"))
        params["status"] = filters.status
    if filters.priority:
        where.append(_t.priority == bindparam("priority"))
        params["priority"] = filters.priority
    if filters.category_id == NEEDS_TRIAGE:
        where.append(_t.category_id.is_(None))
    elif filters.category_id:
        where.append(_t.category_id == bindparam("category_id"))
        params["category_id"] = filters.category_id
    if filters.assignee == "me":
        where.append(_t.assignee_id == bindparam("me"))
        params["me"] = member.member_id
    elif filters.assignee == "unassigned":
        where.append(_t.assignee_id.is_(None))
    return where


def list_page(scoped: Scoped, member: SignedIn, filters: ListFilters) -> dict[str, Any]:
    """A page of tickets in the chosen order, by keyset pagination; plus what the filter form offers."""
    params: dict[str, Any] = {"page_size": PAGE_SIZE + 1}
    base = SUMMARIES
    page: list = []
    next_cursor = None
    terms = search.parse(filters.search) if filters.search else None
    if terms != []:  # a search of punctuation alone finds nothing
        if terms:
            mode, params["fts"] = search.plan(scoped, terms)
            base = search.searched(scoped.conn.dialect.name, mode)
        search.custom_plans(scoped)
        base = base.where(*_conditions(filters, member, params))
        fingerprint = filters.fingerprint(member.member_id)
        read = _by_priority if filters.sort == "priority" else _by_time
        page, next_cursor = read(scoped, base, params, filters, fingerprint)
    shown = [summary_json(r) for r in page]
    unseen = activity.unseen(scoped, member.member_id, shown)
    for ticket in shown:
        ticket["unseen"] = ticket["id"] in unseen
    return {"tickets": shown, "next_cursor": next_cursor, "categories": categories.list_categories(scoped)}


def _by_time(scoped: Scoped, base, params: dict, filters: ListFilters, fingerprint: str) -> tuple[list, str | None]:
    order = NEWEST_CREATED if filters.sort == "created" else NEWEST_UPDATE
    if filters.cursor:
        params["cursor_time"], params["cursor_id"] = decode_cursor(filters.cursor, order=order, fingerprint=fingerprint)
    stmt = keyset(base, order, cursor=bool(filters.cursor)).limit(bindparam("page_size"))
    rows = list(scoped.execute(stmt, params).all())
    page = rows[:PAGE_SIZE]
    if len(rows) <= PAGE_SIZE:
        return page, None
    return page, encode_cursor(order, getattr(page[-1], order_time(order).key), page[-1].id, fingerprint)


def _by_priority(scoped: Scoped, base, params: dict, filters: ListFilters,
                 fingerprint: str) -> tuple[list, str | None]:
    """Each priority in turn, by last activity; the cursor's order names the priority it stopped in."""
    start = 0
    if filters.cursor:
        order = peek_order(filters.cursor)
        start = _BY_PRIORITY.index(order[1:]) if order[1:] in _BY_PRIORITY and order[0] == "p" else 0
        params["cursor_time"], params["cursor_id"] = decode_cursor(
            filters.cursor, order=f"p{_BY_PRIORITY[start]}", fingerprint=fingerprint)
    rows: list = []
    for index in range(start, len(_BY_PRIORITY)):
        stmt = keyset(base.where(_t.priority == literal_column(f"'{_BY_PRIORITY[index]}'")), NEWEST_UPDATE,
                      cursor=bool(filters.cursor) and index == start)
        params["page_size"] = PAGE_SIZE + 1 - len(rows)
        rows += [(_BY_PRIORITY[index], r) for r in scoped.execute(stmt.limit(bindparam("page_size")), params).all()]
        if len(rows) > PAGE_SIZE:
            break
    page = rows[:PAGE_SIZE]
    if len(rows) <= PAGE_SIZE:
        return [r for _, r in page], None
    priority, last = page[-1]
    return [r for _, r in page], encode_cursor(f"p{priority}", last.updated_at, last.id, fingerprint)

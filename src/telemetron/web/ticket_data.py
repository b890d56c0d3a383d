"""What the agents' ticket pages read and do, as units of work ``fn(scoped, member, ...)``.

The list reuses queryTickets' pieces (``tickets.views.SUMMARIES``, its keyset cursors) and adds
the filters an agent needs that the API does not have: assigned to me / unassigned, and a search
in titles. Changes go through ``tickets.changes``, the one place that changes tickets, so a reply
or a status change notifies, and a category set here teaches the categorizer, exactly as through
the API.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, bindparam

from telemetron.categories import service as categories
from telemetron.clock import utcnow
from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import routing_rules, tickets
from telemetron.enums import PRIORITIES, STATUSES
from telemetron.errors import InvalidRequest
from telemetron.idempotency import service as idempotency
from telemetron.members import service as members
from telemetron.members.auth import SignedIn
from telemetron.tickets import changes
from telemetron.tickets.queries import NEWEST_CREATED, decode_cursor, encode_cursor
from telemetron.tickets.schemas import utf8_size_over
from telemetron.tickets.views import (
    SUMMARIES,
    canonical_ticket_id,
    get_ticket,
    summary_json,
)

PAGE_SIZE = 25
MAX_SEARCH = 200
UNRESOLVED = "unresolved"
STATUS_FILTERS = ("", UNRESOLVED, *STATUSES)
NEEDS_TRIAGE = "none"
_t = tickets.c


@dataclass(frozen=True, slots=True)
class ListFilters:
    status: str = UNRESOLVED  # "" (all), "unresolved", or a status
    priority: str = ""
    category_id: str = ""  # "" (all), "none" (needs triage), or a category id
    assignee: str = ""  # "" (anyone), "me", "unassigned"
    search: str = ""
    cursor: str = ""

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
        )

    def query(self, **changes: str) -> dict[str, str]:
        """The filters as query parameters (the defaults left out), with ``changes`` applied."""
        values = {"status": self.status, "priority": self.priority, "category": self.category_id,
                  "assignee": self.assignee, "q": self.search, "cursor": ""}
        values.update(changes)
        return {k: v for k, v in values.items() if v or (k == "status" and v != UNRESOLVED)}

    def fingerprint(self, member_id: str) -> str:
        filters = [self.status, self.priority, self.category_id, self.assignee, self.search.lower(), member_id]
        return hashlib.sha256(orjson.dumps(filters)).hexdigest()[:16]


def list_page(scoped: Scoped, member: SignedIn, filters: ListFilters) -> dict[str, Any]:
    """A page of tickets, newest first, by keyset pagination; plus what the filter form offers."""
    stmt = SUMMARIES
    params: dict[str, Any] = {"page_size": PAGE_SIZE + 1}
    if filters.status == UNRESOLVED:
        stmt = stmt.where(_t.status != "resolved")
    elif filters.status:
        stmt = stmt.where(_t.status == bindparam("status"))
        params["status"] = filters.status
    if filters.priority:
        stmt = stmt.where(_t.priority == bindparam("priority"))
        params["priority"] = filters.priority
    if filters.category_id == NEEDS_TRIAGE:
        stmt = stmt.where(_t.category_id.is_(None))
    elif filters.category_id:
        stmt = stmt.where(_t.category_id == bindparam("category_id"))
        params["category_id"] = filters.category_id
    if filters.assignee == "me":
        stmt = stmt.where(_t.assignee_id == bindparam("me"))
        params["me"] = member.member_id
    elif filters.assignee == "unassigned":
        stmt = stmt.where(_t.assignee_id.is_(None))
    if filters.search:
        # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite; the agent's % and _ are literal.
        stmt = stmt.where(_t.title.ilike(bindparam("search"), escape="\\"))
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["search"] = f"%{escaped}%"
    fingerprint = filters.fingerprint(member.member_id)
    if filters.cursor:
        at, last_id = decode_cursor(filters.cursor, order=NEWEST_CREATED, fingerprint=fingerprint)
        cursor_at = bindparam("cursor_time", type_=_t.created_at.type)
        cursor_id = bindparam("cursor_id", type_=_t.id.type)
        # As in queryTickets: a plain range the planner can seek, and ties broken by id.
        stmt = stmt.where(_t.created_at <= cursor_at, (_t.created_at < cursor_at) | (_t.id < cursor_id))
        params["cursor_time"], params["cursor_id"] = at, last_id
    stmt = stmt.order_by(_t.created_at.desc(), _t.id.desc()).limit(bindparam("page_size"))
    rows = scoped.execute(stmt, params).all()
    page = rows[:PAGE_SIZE]
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        next_cursor = encode_cursor(NEWEST_CREATED, page[-1].created_at, page[-1].id, fingerprint)
    return {
        "tickets": [summary_json(r) for r in page],
        "next_cursor": next_cursor,
        "categories": categories.list_categories(scoped),
    }


_r = routing_rules.c
_DETAILS = (
    tenant_select(tickets, _t.category_id, _t.category_candidates, _t.category_corrected_at, _t.routing_reason,
                  _t.routed_by_rule_id, _r.name.label("rule_name"))
    .select_from(tickets.outerjoin(
        routing_rules, and_(_r.id == _t.routed_by_rule_id, _r.organization_id == _t.organization_id)))
    .where(_t.id == bindparam("ticket_id"))
)


def ticket_page(scoped: Scoped, member: SignedIn, raw_id: str) -> dict[str, Any]:
    """The ticket with its conversation, how it was categorized and routed, and the form's choices.

    404 ``ticket_not_found`` for anything that is not one of this organization's tickets.
    """
    ticket = get_ticket(scoped, canonical_ticket_id(raw_id))
    details = scoped.execute(_DETAILS, {"ticket_id": ticket["id"]}).mappings().one()
    return {
        "ticket": ticket,
        "details": dict(details),
        "categories": [c for c in categories.list_categories(scoped) if c["active"] or c["id"] == details["category_id"]],
        "members": members.list_members(scoped),
    }


def _text(value: str, *, what: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidRequest(f"The {what} is empty: write something first.", field="content")
    size = utf8_size_over(value, limit)
    if size is not None:
        raise InvalidRequest(f"The {what} is too long ({size:,} bytes; at most {limit:,}).", field="content")
    return value


def reply(scoped: Scoped, member: SignedIn, raw_id: str, *, content: str, status: str, max_text: int,
          once: str = "") -> tuple[str, bool]:
    """Add the agent's reply, and set the status if one was chosen (one transaction).

    Returns the ticket's id and whether the reply was added: ``False`` when this sending of the
    form (its one-time value ``once``) was added before. A double click, or a browser re-sending
    the form after a lost response, must not send the customer the same reply twice; the value is
    claimed like an Idempotency-Key, in the reply's own transaction, so a refused reply (empty,
    too long) leaves it unused.
    """
    # Browsers send a textarea's line breaks as CRLF; the API's messages use LF, and so do we.
    content = _text(content.replace("\r\n", "\n") if content else content, what="reply", limit=max_text)
    if status and status not in STATUSES:
        raise InvalidRequest(f"Unknown status '{status}'", field="status")
    ticket = changes.lock_ticket(scoped, canonical_ticket_id(raw_id))
    if once and idempotency.claim(scoped, key=f"web:reply:{ticket.id}:{once}", endpoint="web/reply",
                                  request_hash="form") is not None:
        return ticket.id, False
    now = utcnow()
    changes.add_message(scoped, ticket, "agent", content, now=now, author_member_id=member.member_id)
    if status:
        changes.change_status(scoped, ticket, status, now=now)
    return ticket.id, True


def update(scoped: Scoped, member: SignedIn, raw_id: str, *, status: str | None, priority: str | None,
           category_id: str | None, assignee_id: str | None, confirm_category: bool = False,
           shown: dict[str, str | None] | None = None) -> list[str]:
    """Apply what the agent changed in the ticket's form; returns the names of what changed.

    A field left out (None) is not touched. The form also sends what it showed when it was loaded
    (``shown``): a field the agent left as it was is not applied, so saving a page opened before a
    colleague's change does not undo that change (only what this agent changed is written). Without
    ``shown``, a field whose value differs from the ticket's is applied: re-sending an AI category
    unchanged is not a correction. Confirming the AI's category is an explicit button
    (``confirm_category``), and does count for training.
    """
    shown = shown or {}

    def edited(field: str, value: str | None) -> bool:
        return value is not None and (shown.get(field) is None or value != shown[field])

    ticket = changes.lock_ticket(scoped, canonical_ticket_id(raw_id))
    now = utcnow()
    changed = []
    if status and status not in STATUSES:
        raise InvalidRequest(f"Unknown status '{status}'", field="status")
    if priority and priority not in PRIORITIES:
        raise InvalidRequest(f"Unknown priority '{priority}'", field="priority")
    if status and edited("status", status) and changes.change_status(scoped, ticket, status, now=now):
        changed.append("status")
    if priority and edited("priority", priority) and changes.change_priority(scoped, ticket, priority, now=now):
        changed.append("priority")
    if confirm_category or (edited("category", category_id) and category_id != (ticket.category_id or "")):
        category_id = ticket.category_id or "" if category_id is None else category_id
        name = None
        if category_id:
            found = {c["id"]: c["name"] for c in categories.list_categories(scoped)}.get(category_id)
            if found is None:
                raise InvalidRequest("That category does not exist (any more); reload the page.", field="category")
            name = found
        if changes.change_category(scoped, ticket, name, now=now):
            changed.append("category")
    if (edited("assignee", assignee_id) and assignee_id != (ticket.assignee_id or "")
            and changes.change_assignee(scoped, ticket, assignee_id or None, now=now)):
        changed.append("assignee")
    return changed

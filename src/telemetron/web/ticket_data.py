"""What the agents' ticket pages read and do, as units of work ``fn(scoped, member, ...)``.

The list is ``web.ticket_list``. Changes go through ``tickets.update``, the one place that changes tickets, so a reply
or a status change notifies, and a category set here teaches the categorizer, exactly as through
the API.
"""

from __future__ import annotations

from typing import Any

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
from telemetron.tickets import activity
from telemetron.tickets.requests import utf8_size_over
from telemetron.tickets.serializers import canonical_ticket_id, get_ticket
from telemetron.tickets.update import (
    add_message,
    change_assignee,
    change_category,
    change_priority,
    change_status,
    lock_ticket,
)

_t = tickets.c
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
    from telemetron.mail.attachments import message_originals

    ticket = get_ticket(scoped, canonical_ticket_id(raw_id))
    activity.mark_seen(scoped, member.member_id, ticket["id"])  # its customer messages are seen now
    details = scoped.execute(_DETAILS, {"ticket_id": ticket["id"]}).mappings().one()
    return {
        "originals": message_originals(scoped, ticket["id"]),
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
    ticket = lock_ticket(scoped, canonical_ticket_id(raw_id))
    if once and idempotency.claim(scoped, key=f"web:reply:{ticket.id}:{once}", endpoint="web/reply",
                                  request_hash="form") is not None:
        return ticket.id, False
    now = utcnow()
    add_message(scoped, ticket, "agent", content, now=now, author_member_id=member.member_id, channel="web")
    if status:
        change_status(scoped, ticket, status, now=now)
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

    ticket = lock_ticket(scoped, canonical_ticket_id(raw_id))
    now = utcnow()
    changed = []
    if status and status not in STATUSES:
        raise InvalidRequest(f"Unknown status '{status}'", field="status")
    if priority and priority not in PRIORITIES:
        raise InvalidRequest(f"Unknown priority '{priority}'", field="priority")
    if status and edited("status", status) and change_status(scoped, ticket, status, now=now):
        changed.append("status")
    if priority and edited("priority", priority) and change_priority(scoped, ticket, priority, now=now):
        changed.append("priority")
    if confirm_category or (edited("category", category_id) and category_id != (ticket.category_id or "")):
        category_id = ticket.category_id or "" if category_id is None else category_id
        name = None
        if category_id:
            found = {c["id"]: c["name"] for c in categories.list_categories(scoped)}.get(category_id)
            if found is None:
                raise InvalidRequest("That category does not exist (any more); reload the page.", field="category")
            name = found
        if change_category(scoped, ticket, name, now=now):
            changed.append("category")
    if (edited("assignee", assignee_id) and assignee_id != (ticket.assignee_id or "")
            and change_assignee(scoped, ticket, assignee_id or None, now=now)):
        changed.append("assignee")
    return changed

"""Every change to an existing ticket goes through one function here: status, priority, category,
assignee, and new messages.

These are the places where notifications and the AI categorizer hook in. ``change_status``
publishes ``ticket.status_changed`` (detail ``{"from", "to"}``) and ``add_message`` publishes
``ticket.customer_replied`` for customer messages (detail ``{"content", "messageId", "reopened"}``;
a reply that reopens a resolved ticket is one notification, the reply, not two). The AI
categorizer learns from an agent's category correction in ``change_category``. Nothing else writes
those columns or appends messages, so a hook added to one of these functions sees every such change,
whichever endpoint (or, later, the web app) made it. Each runs in the caller's transaction, on a
ticket locked with ``lock_ticket`` (so a notification enqueued there exists only if the change
commits), and does nothing (returns False) when the value does not change, so a hook never fires
for a no-op.

Every change also moves ``updated_at``, the ticket's last activity, which ``queryTickets``'
``updatedAfter`` follows and the web list sorts by. ``add_message`` also keeps the ticket's
"waiting on us" state and its search document (``tickets.search``) in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func

from telemetron.categories import service as categories
from telemetron.db.scoped import Scoped, tenant_insert, tenant_select, tenant_update
from telemetron.db.tables import ticket_messages, tickets
from telemetron.enums import Status
from telemetron.errors import InvalidRequest, NotFound
from telemetron.members import service as members
from telemetron.tickets import search
from telemetron.tickets.serializers import ticket_not_found

RESOLVED = Status.RESOLVED

_t = tickets.c
# FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): two requests
# changing one ticket take turns, so neither works from a stale state and two messages never
# compete for one position.
_LOCK = (
    tenant_select(
        tickets, _t.id, _t.status, _t.priority, _t.category_id, _t.category_source, _t.assignee_id, _t.resolved_at
    )
    .where(_t.id == bindparam("ticket_id"))
    .with_for_update()
)
# (Bound names must differ from column names in UPDATE statements.)
_BY_ID = tenant_update(tickets).where(_t.id == bindparam("ticket_id"))
_SET_STATUS = _BY_ID.values(
    status=bindparam("new_status"), resolved_at=bindparam("new_resolved_at"), updated_at=bindparam("now")
)
_SET_PRIORITY = _BY_ID.values(priority=bindparam("new_priority"), updated_at=bindparam("now"))
_SET_CATEGORY = _BY_ID.values(
    category_id=bindparam("new_category_id"),
    category_source=bindparam("new_category_source"),
    category_confidence=None,
    # A person's choice: the categorizer learns from it, more than from a category given at creation.
    category_corrected_at=bindparam("now"),
    updated_at=bindparam("now"),
)
_SET_ASSIGNEE = _BY_ID.values(assignee_id=bindparam("new_assignee_id"), updated_at=bindparam("now"))
# A message is activity; a customer's starts (or continues) a wait for an answer, an agent's or
# a bot's ends it: the list's "waiting on us".
_CUSTOMER_WROTE = _BY_ID.values(
    updated_at=bindparam("now"), last_customer_message_at=bindparam("now"),
    waiting_since=func.coalesce(_t.waiting_since, bindparam("now")),
)
_ANSWERED = _BY_ID.values(updated_at=bindparam("now"), waiting_since=None)
_m = ticket_messages.c
_NEXT_POSITION = tenant_select(ticket_messages, func.coalesce(func.max(_m.position), -1) + 1).where(
    _m.ticket_id == bindparam("ticket_id")
)
_INSERT_MESSAGE = tenant_insert(ticket_messages)


@dataclass(slots=True)
class TicketState:
    """The columns the change functions read and write; kept current as they change them."""

    id: str
    status: str
    priority: str
    category_id: str | None
    category_source: str
    assignee_id: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class AddedMessage:
    id: int
    position: int
    reopened: bool


def lock_ticket(scoped: Scoped, ticket_id: str | None) -> TicketState:
    """Lock this organization's ticket for the rest of the transaction; 404 ``ticket_not_found``."""
    row = scoped.execute(_LOCK, {"ticket_id": ticket_id}).first() if ticket_id is not None else None
    if row is None:
        raise ticket_not_found()
    return TicketState(*row)


def _publish(scoped: Scoped, event: str, ticket_id: str, detail: dict) -> None:
    """Enqueue ``event`` with a snapshot of the ticket as it is now (in this transaction), to the
    Slack channel its routing rule chose, if any, like its new-ticket message."""
    from telemetron.notifications import events
    from telemetron.tickets.serializers import find_ticket_row, summary_json

    row = find_ticket_row(scoped, ticket_id)
    assert row is not None, "the ticket is locked by this transaction"
    events.publish(scoped, event, summary_json(row), slack_channel=row.slack_channel, detail=detail)


def change_status(scoped: Scoped, ticket: TicketState, status: str, *, now: datetime, notify: bool = True) -> bool:
    """Set the status (open | in_progress | waiting_for_customer | resolved).

    Resolving stamps ``resolved_at``; any other status clears it (reopening). Publishes
    ``ticket.status_changed`` unless ``notify`` is false (``add_message`` reopens through here and
    announces the reply instead).
    """
    if status == ticket.status:
        return False
    previous = ticket.status
    resolved_at = now if status == RESOLVED else None
    scoped.execute(
        _SET_STATUS, {"ticket_id": ticket.id, "new_status": status, "new_resolved_at": resolved_at, "now": now}
    )
    ticket.status, ticket.resolved_at = status, resolved_at
    if notify:
        from telemetron.notifications.events import STATUS_CHANGED

        _publish(scoped, STATUS_CHANGED, ticket.id, {"from": previous, "to": status})
    return True


def change_priority(scoped: Scoped, ticket: TicketState, priority: str, *, now: datetime) -> bool:
    """Set the priority (low | medium | high | urgent). Hook for priority-change notifications."""
    if priority == ticket.priority:
        return False
    scoped.execute(_SET_PRIORITY, {"ticket_id": ticket.id, "new_priority": priority, "now": now})
    ticket.priority = priority
    return True


def change_category(scoped: Scoped, ticket: TicketState, category: str | None, *, now: datetime) -> bool:
    """Put the ticket in the active category named ``category`` (ignoring case), or none (None).

    A category chosen here is a person's choice: ``category_source`` becomes ``provided`` and the
    AI's confidence is cleared; removing the category makes the source ``none``. When the ticket's
    category came from the AI (source ``ai``), this call is an agent correcting or confirming the
    AI, which is the training signal the categorizer learns from: it hooks in here, where
    the old category and source are still on ``ticket`` before they are overwritten. Confirming an
    AI category (same category) therefore counts as a change: the source moves from ``ai`` to
    ``provided``.

    Unknown category: 404 ``category_not_found``; inactive: 400 ``category_inactive``.
    """
    if category is None:
        category_id, source = None, "none"
    else:
        found = categories.find_by_name(scoped, category, active_only=False)
        if found is None:
            raise NotFound(
                f"Category '{category.strip()}' not found in this organization",
                field="category",
                code="category_not_found",
            )
        if not found["active"]:
            raise InvalidRequest(
                f"Category '{found['name']}' is inactive; inactive categories cannot be given to tickets",
                field="category",
                code="category_inactive",
            )
        category_id, source = found["id"], "provided"
    if category_id == ticket.category_id and source == ticket.category_source:
        return False
    scoped.execute(
        _SET_CATEGORY,
        {"ticket_id": ticket.id, "new_category_id": category_id, "new_category_source": source, "now": now},
    )
    ticket.category_id, ticket.category_source = category_id, source
    return True


def change_assignee(scoped: Scoped, ticket: TicketState, assignee_id: str | None, *, now: datetime) -> bool:
    """Assign the ticket to a member of this organization, or unassign it (None).

    A member id of another organization, or no member at all: 404 ``member_not_found``. Members
    marked unavailable can still be assigned by hand (routing skips them). Hook for
    assignment notifications.
    """
    if assignee_id is not None and members.find_member(scoped, assignee_id) is None:
        raise NotFound(
            f"Assignee {assignee_id} is not a member of this organization",
            field="assigneeId",
            code="member_not_found",
        )
    if assignee_id == ticket.assignee_id:
        return False
    scoped.execute(_SET_ASSIGNEE, {"ticket_id": ticket.id, "new_assignee_id": assignee_id, "now": now})
    ticket.assignee_id = assignee_id
    return True


def add_message(scoped: Scoped, ticket: TicketState, role: str, content: str, *, now: datetime,
                author_member_id: str | None = None, internal: bool = False, channel: str = "api",
                email: dict | None = None) -> AddedMessage:
    """Append a message (customer | agent | bot) at the ticket's next position.

    ``author_member_id``: the team member who wrote it (the web app knows; an API key does not).
    A customer writing on a resolved ticket reopens it (status ``open``, ``resolved_at`` cleared,
    through ``change_status``). Publishes ``ticket.customer_replied`` for customer messages.
    ``internal``: an agents' note, which notifies nobody and is never sent to the customer.
    An agent's public reply is announced as ``ticket.agent_replied`` (webhooks, so that the app
    that opened the ticket can deliver it) and, on an email ticket, emailed (``mail.outbound``).
    ``channel`` (api | email | web) and ``email`` (the mail's columns) say how it came in.
    """
    position = scoped.execute(_NEXT_POSITION, {"ticket_id": ticket.id}).scalar_one()
    result = scoped.execute(
        _INSERT_MESSAGE,
        {"ticket_id": ticket.id, "position": position, "role": role, "content": content,
         "author_member_id": author_member_id, "created_at": now,
         "visibility": "internal" if internal else "public", "channel": channel, **(email or {})},
    )
    reopened = (
        role == "customer" and ticket.status == RESOLVED and change_status(scoped, ticket, "open", now=now, notify=False)
    )
    scoped.execute(_CUSTOMER_WROTE if role == "customer" else _ANSWERED, {"ticket_id": ticket.id, "now": now})
    search.index_message(scoped, ticket.id, content)
    assert result.inserted_primary_key is not None, "an INSERT always has its key"
    message_id = result.inserted_primary_key[0]
    if internal:
        return AddedMessage(id=message_id, position=position, reopened=False)
    if role == "customer":
        from telemetron.notifications.events import CUSTOMER_REPLIED

        _publish(scoped, CUSTOMER_REPLIED, ticket.id, {"content": content, "messageId": message_id, "reopened": reopened})
    elif role == "agent":
        from telemetron.mail.outbound import deliver_agent_reply

        deliver_agent_reply(scoped, ticket.id, message_id, content, author_member_id=author_member_id, now=now)
    return AddedMessage(id=message_id, position=position, reopened=reopened)


_TAGS = tenant_select(tickets, _t.tags).where(_t.id == bindparam("ticket_id"))
_SET_TAGS = _BY_ID.values(tags=bindparam("new_tags"), updated_at=bindparam("now"))
MAX_TAGS, MAX_TAG = 50, 64


def clean_tags(tags: list[str]) -> list[str]:
    """Trimmed, each once (first spelling kept, ignoring case); 400 when too many or too long."""
    kept: dict[str, str] = {}
    for tag in (t.strip() for t in tags):
        if tag:
            kept.setdefault(tag.lower(), tag)
    if len(kept) > MAX_TAGS or any(len(t) > MAX_TAG for t in kept.values()):
        raise InvalidRequest(f"At most {MAX_TAGS} tags of at most {MAX_TAG} characters", field="tags")
    return list(kept.values())


def change_tags(scoped: Scoped, ticket: TicketState, tags: list[str], *, now: datetime) -> bool:
    """Replace the ticket's tags (an agent's edit or a macro); False when they are the same."""
    tags = clean_tags(tags)
    if list(scoped.execute(_TAGS, {"ticket_id": ticket.id}).scalar_one() or []) == tags:
        return False
    scoped.execute(_SET_TAGS, {"ticket_id": ticket.id, "new_tags": tags, "now": now})
    return True

"""How a ticket is read and shown to a client: getTicket's ticket, and queryTickets' summaries.

A ticket is shown with its category's name, its customer and its assignee, read in one statement
(the joins are by primary key and repeat the organization, so a row can never pick up another
organization's customer, category or member). Messages are read separately, in position order.
Times are ISO 8601 in UTC with microseconds (``2026-11-25T14:58:17.058805+00:00``): fixed width,
and exact, so a ticket's ``updatedAt`` can be sent back as ``updatedAfter``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam

from telemetron.db.scoped import Scoped, tenant_select
from telemetron.db.tables import categories, customers, members, ticket_messages, tickets
from telemetron.errors import NotFound

_t = tickets.c
SUMMARY_COLUMNS = (
    _t.id,
    _t.title,
    _t.description,
    _t.description_generated,
    _t.priority,
    _t.status,
    categories.c.name.label("category_name"),
    _t.category_source,
    _t.category_confidence,
    customers.c.id.label("customer_id"),
    customers.c.email.label("customer_email"),
    customers.c.name.label("customer_name"),
    members.c.id.label("assignee_id"),
    members.c.email.label("assignee_email"),
    members.c.name.label("assignee_name"),
    _t.tags,
    _t.created_at,
    _t.updated_at,
    _t.resolved_at,
    _t.number,
    _t.mailbox_id,
    _t.last_customer_message_at,
    _t.waiting_since,
)


def with_ticket_joins(base):
    """``base`` (the tickets table, or a join that holds it) joined to what a summary shows."""
    return (
        base.join(
            customers,
            and_(customers.c.id == _t.customer_id, customers.c.organization_id == _t.organization_id),
        )
        .outerjoin(
            categories,
            and_(categories.c.id == _t.category_id, categories.c.organization_id == _t.organization_id),
        )
        .outerjoin(
            members,
            and_(members.c.id == _t.assignee_id, members.c.organization_id == _t.organization_id),
        )
    )


TICKET_JOINS = with_ticket_joins(tickets)
SUMMARIES = tenant_select(tickets, *SUMMARY_COLUMNS).select_from(TICKET_JOINS)
# getTicket adds why the ticket is where it is: the AI's candidates and the routing decision.
_BY_ID = (
    tenant_select(tickets, *SUMMARY_COLUMNS, _t.category_candidates, _t.routed_by_rule_id, _t.routing_reason,
                  _t.slack_channel)
    .select_from(TICKET_JOINS)
    .where(_t.id == bindparam("ticket_id"))
)
_m = ticket_messages.c
_author = members.alias("author")
_MESSAGES = (
    tenant_select(ticket_messages, _m.id, _m.position, _m.role, _m.content, _m.created_at,
                  _author.c.id.label("author_id"), _author.c.name.label("author_name"),
                  _m.visibility, _m.channel, _m.delivery_state, _m.delivery_error, _m.thread_reason,
                  _m.original_content, _m.email_message_id)
    .select_from(
        ticket_messages.outerjoin(
            _author, and_(_author.c.id == _m.author_member_id, _author.c.organization_id == _m.organization_id)
        )
    )
    .where(_m.ticket_id == bindparam("ticket_id"))
    .order_by(_m.position)
)


def ticket_not_found() -> NotFound:
    return NotFound("Ticket not found", field="ticketId", code="ticket_not_found")


def canonical_ticket_id(raw: Any) -> str | None:
    """The stored form of a ticket id (lower-case UUID with hyphens), or None if ``raw`` is not a UUID.

    Anything that is not a UUID cannot be a ticket, so callers answer 404 without a query.
    """
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        return None


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def summary_json(row: Any) -> dict[str, Any]:
    """A ticket as queryTickets lists it (getTicket adds ``messages``)."""
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "descriptionGenerated": row.description_generated,
        "priority": row.priority,
        "status": row.status,
        "category": row.category_name,
        "categorySource": row.category_source,
        "categoryConfidence": row.category_confidence,
        "customer": {"id": row.customer_id, "email": row.customer_email, "name": row.customer_name},
        "assignee": (
            {"id": row.assignee_id, "email": row.assignee_email, "name": row.assignee_name}
            if row.assignee_id is not None
            else None
        ),
        "tags": list(row.tags or []),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "resolvedAt": iso(row.resolved_at),
        # The organization's own number for the ticket ([#N] in email subjects).
        "number": row.number,
        # email when the ticket came in by email (agents' replies are then emailed), else api.
        "channel": "email" if row.mailbox_id is not None else "api",
        "lastCustomerMessageAt": iso(row.last_customer_message_at),
        # The customer wrote last and the ticket is not resolved: an answer is owed.
        "waitingOnUs": row.waiting_since is not None and row.status != "resolved",
        "waitingSince": iso(row.waiting_since) if row.status != "resolved" else None,
    }


def message_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "position": row.position,
        "role": row.role,
        "content": row.content,
        # Who wrote an agent message in the web app; null for messages sent through the API.
        "author": {"id": row.author_id, "name": row.author_name} if row.author_id is not None else None,
        "createdAt": iso(row.created_at),
        # An agents' note: never emailed, never in a webhook or Slack message.
        "internal": row.visibility == "internal",
        "channel": row.channel,
        # The mail sent for an agent's reply on an email ticket: pending | sent | failed (null: none).
        "delivery": {"state": row.delivery_state, "error": row.delivery_error} if row.delivery_state else None,
        # How an incoming mail was matched to this ticket (null for other messages).
        "threading": row.thread_reason,
    }


def find_ticket_row(scoped: Scoped, ticket_id: str | None) -> Any | None:
    if ticket_id is None:
        return None
    return scoped.execute(_BY_ID, {"ticket_id": ticket_id}).first()


def get_ticket(scoped: Scoped, ticket_id: str | None) -> dict[str, Any]:
    """The ticket with its messages in order; 404 ``ticket_not_found`` if not this organization's.

    ``ticket_id`` is already canonical (see ``canonical_ticket_id``); None means it was not a UUID.
    """
    row = find_ticket_row(scoped, ticket_id)
    if row is None:
        raise ticket_not_found()
    ticket = summary_json(row)
    ticket["categoryCandidates"] = row.category_candidates
    ticket["routing"] = {"ruleId": row.routed_by_rule_id, "reason": row.routing_reason}  # as createTicket has it
    ticket["messages"] = [message_json(m) for m in scoped.execute(_MESSAGES, {"ticket_id": row.id})]
    from telemetron.mail.attachments import ticket_attachments

    ticket["attachments"] = ticket_attachments(scoped, row.id)
    return ticket

"""getTicket, queryTickets, updateTicket and addMessage: the actions ``api.pipeline`` runs in one
transaction, after it authenticated the caller. Everything an endpoint writes commits together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telemetron.api.pipeline import Caller, Parsed
from telemetron.clock import utcnow
from telemetron.tickets import update as ticket_update
from telemetron.tickets.read import query_tickets
from telemetron.tickets.requests import AddMessageRequest, TicketQuery, TicketUpdate
from telemetron.tickets.serializers import canonical_ticket_id, get_ticket


def get_ticket_action(caller: Caller, ticket_id: Parsed[str | None]) -> dict[str, Any]:
    """``ticket_id`` is the canonical ticket id, or None when the path held no UUID (a 404)."""
    return {"success": True, "ticket": get_ticket(caller.scoped, ticket_id.value)}


def query_tickets_action(caller: Caller, query: Parsed[TicketQuery]) -> dict[str, Any]:
    page, next_cursor, warnings = query_tickets(caller.scoped, query.value)
    return {"success": True, "tickets": page, "nextCursor": next_cursor, "warnings": [*query.warnings, *warnings]}


# Each field of updateTicket, applied by its function in ``tickets.update``, in this order.
_CHANGERS: tuple[tuple[str, Callable[..., bool]], ...] = (
    ("status", ticket_update.change_status),
    ("priority", ticket_update.change_priority),
    ("category", ticket_update.change_category),
    ("assigneeId", ticket_update.change_assignee),
)


def update_ticket_action(caller: Caller, update: Parsed[TicketUpdate]) -> dict[str, Any]:
    scoped = caller.scoped
    ticket = ticket_update.lock_ticket(scoped, canonical_ticket_id(update.value.ticket_id))
    now = utcnow()
    wanted = update.value.changes
    changed = [name for name, change in _CHANGERS if name in wanted and change(scoped, ticket, wanted[name], now=now)]
    return {
        "success": True,
        "message": "Ticket updated successfully",
        "changed": changed,
        "ticket": get_ticket(scoped, ticket.id),
        "warnings": list(update.warnings),
    }


def add_message_action(caller: Caller, message: Parsed[AddMessageRequest]) -> dict[str, Any]:
    request = message.value
    ticket = ticket_update.lock_ticket(caller.scoped, canonical_ticket_id(request.ticketId))
    added = ticket_update.add_message(caller.scoped, ticket, request.role, request.content, now=utcnow(),
                                      internal=request.internal)
    return {
        "success": True,
        "message": "Message added successfully",
        "messageId": added.id,
        "position": added.position,
        "ticketStatus": ticket.status,
        "reopened": added.reopened,
        "internal": request.internal,
        "warnings": list(message.warnings),
    }

"""Opening a ticket: customer, category, description, ticket and messages, in the caller's transaction.

The order follows Telemetron's: resolve the customer, categorize, (auto-resolve, route and
enqueue notifications: later issues), so that whatever fails, the caller's rollback leaves
nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telemetron import ids
from telemetron.categories import service as categories
from telemetron.customers import service as customers
from telemetron.db.engine import utcnow
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert
from telemetron.db.tables import ticket_messages, tickets
from telemetron.errors import InvalidRequest
from telemetron.tickets.description import describe_conversation
from telemetron.tickets.schemas import CreateTicketRequest

STATUSES = ("open", "in_progress", "waiting_for_customer", "resolved")
_INSERT_TICKET = Prepared(tenant_insert(tickets))
_INSERT_MESSAGE = tenant_insert(ticket_messages)


@dataclass(slots=True)
class CreatedTicket:
    id: str
    customer_id: str
    customer_created: bool
    category: str | None
    category_source: str
    status: str
    description_generated: bool
    warnings: list[str] = field(default_factory=list)


def _resolve_customer(scoped: Scoped, request: CreateTicketRequest) -> tuple[dict, bool]:
    email = customers.normalize_email(request.customerEmail) if request.customerEmail else None
    customer_id = request.customerId.strip() if request.customerId else None
    if customer_id:
        customer = customers.get_customer(scoped, customer_id)
        if email is not None and customer["email"] != email:
            raise InvalidRequest(
                f"customerEmail and customerId name different customers ({customer_id} is not {email}); "
                "send one of them",
                field="customerEmail",
                code="customer_mismatch",
            )
        return customer, False
    assert email is not None  # the schema requires one of the two
    return customers.get_or_create_by_email(scoped, email)


def create_ticket(scoped: Scoped, request: CreateTicketRequest) -> CreatedTicket:
    warnings: list[str] = []
    customer, customer_created = _resolve_customer(scoped, request)

    category = None
    if request.category is not None:
        category = categories.match_active(scoped, request.category)
        if category is None:
            warnings.append(
                f"category '{request.category.strip()}' matches no active category of this organization; "
                "the ticket was left uncategorized"
            )
    # Without a matched category the ticket goes to the categorizer. The AI categorizer is not
    # built yet (issue 3): the ticket stays uncategorized and says so (category_source "none").
    category_source = "provided" if category is not None else "none"

    messages = request.messages or []
    description = request.description
    description_generated = False
    if description is None and messages:
        description = describe_conversation(messages)
        description_generated = True

    now = utcnow()
    ticket_id = ids.ticket_id()
    status = "open"
    scoped.execute_prepared(
        _INSERT_TICKET,
        {
            "id": ticket_id,
            "customer_id": customer["id"],
            "title": request.title,
            "description": description or "",
            "description_generated": description_generated,
            "priority": request.priority,
            "status": status,
            "category_id": category[0] if category else None,
            "category_source": category_source,
            "category_confidence": None,
            "tags": [],
            "created_at": now,
            "updated_at": now,
        },
    )
    if messages:
        scoped.execute_many(
            _INSERT_MESSAGE,
            [
                {
                    "ticket_id": ticket_id,
                    "position": position,
                    "role": message.role,
                    "content": message.content,
                    "created_at": now,
                }
                for position, message in enumerate(messages)
            ],
        )
    return CreatedTicket(
        id=ticket_id,
        customer_id=customer["id"],
        customer_created=customer_created,
        category=category[1] if category else None,
        category_source=category_source,
        status=status,
        description_generated=description_generated,
        warnings=warnings,
    )

"""Opening a ticket in named steps: choose the category → describe → route → insert → announce.

The order follows the ext-v1 specification's: categorize (auto-resolve follows the category),
route by the organization's rules, then enqueue the notifications in the outbox. Everything is
written in the caller's transaction, so whatever fails, the rollback leaves nothing behind, and a
notification exists only for a ticket that exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam

from telemetron import ids
from telemetron.categories import service as categories
from telemetron.categories.values import CategoryRef
from telemetron.clock import utcnow
from telemetron.customers import service as customers
from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped, tenant_insert
from telemetron.db.tables import ticket_messages, tickets
from telemetron.enums import Priority, Status
from telemetron.errors import InvalidRequest, shown
from telemetron.notifications import events
from telemetron.orgs import config as org_config
from telemetron.orgs.config import OrgConfig
from telemetron.routing import service as routing
from telemetron.routing.rules import TicketFacts
from telemetron.tickets import search
from telemetron.tickets.description import describe_conversation, first_customer_message
from telemetron.tickets.numbers import number_params, numbered
from telemetron.tickets.requests import CreateTicketRequest
from telemetron.triage import ticket_text
from telemetron.triage.classifier import Prediction
from telemetron.triage.runtime import Request as Question

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
    priority: str = "medium"
    tags: list[str] = field(default_factory=list)
    assignee: dict | None = None
    routing_rule_id: str | None = None
    routing_reason: str | None = None
    confidence: float | None = None
    candidates: list[dict] | None = None
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


def categorizer_request(org_id: str, config: OrgConfig, request: CreateTicketRequest) -> Question | None:
    """What the categorizer is asked for this ticket (``triage.runtime.Request``), or None when the
    ticket names one of the organization's active categories or no category is open to the AI."""
    if not config.ai_categories or (
        request.category is not None and categories.name_key(request.category) in config.active_categories
    ):
        return None
    return Question(
        org_id=org_id,
        model_version=config.triage_model_version,
        threshold=config.triage_threshold,
        allowed=frozenset(config.ai_categories),
        text=ticket_text(request.title, request.description,
                         [m.content for m in request.messages or [] if m.role == "customer"]),
        choices=tuple((label, c.name, c.description) for label, c in config.ai_categories.items()),
    )


#: The AI puts a ticket into an auto-resolve category only at this confidence or more (or the
#: organization's threshold, if higher); below, the ticket is left for an agent. A wrong category
#: costs a re-route, but a wrong auto-resolve closes a customer's ticket unanswered and unannounced
#: (what was measured, and why 0.8: bench/README.md).
AUTO_RESOLVE_CONFIDENCE = 0.8


def _sure_enough(prediction: Prediction, *, auto_resolve: bool) -> bool:
    return not auto_resolve or prediction.confidence >= max(AUTO_RESOLVE_CONFIDENCE, prediction.threshold)


class CategoryChoice(NamedTuple):
    """The ticket's category, who chose it, and what the categorizer said."""

    category: CategoryRef | None
    source: str  # provided | ai | none
    auto_resolved: bool = False  # the category resolves its tickets at once
    confidence: float | None = None
    candidates: list[dict[str, Any]] | None = None
    warning: str | None = None


def choose_category(config: OrgConfig, request: CreateTicketRequest, prediction: Prediction | None) -> CategoryChoice:
    """The category the ticket names, else the categorizer's choice when it is sure enough.

    Auto-resolve follows the category however it was chosen (the ext-v1 specification's order:
    categorize, then auto-resolve): a bot that files an already-answered question into such a
    category gets the AI's treatment. Only AI-enabled categories carry the flag.
    """
    named = config.active_categories.get(categories.name_key(request.category)) if request.category else None
    if named is not None:
        ai = config.ai_categories.get(named.id)
        return CategoryChoice(named, "provided", auto_resolved=ai is not None and ai.auto_resolve)
    unmatched = (f"category {shown(request.category.strip())} matches no active category of this organization"
                 if request.category is not None else None)
    if prediction is None or not config.ai_categories:
        return CategoryChoice(None, "none", warning=unmatched and f"{unmatched}; the ticket was left uncategorized")
    known = config.ai_categories
    candidates = [{"category": known[label].name, "score": round(score, 4)} for label, score in prediction.top
                  if label in known]
    chosen = known.get(prediction.label) if prediction.label is not None else None
    if chosen is not None and not _sure_enough(prediction, auto_resolve=chosen.auto_resolve):
        chosen = None
    warning = unmatched and (f"{unmatched}; categorized automatically as '{chosen.name}'" if chosen
                             else f"{unmatched}; the ticket was left uncategorized")
    return CategoryChoice(
        chosen.ref if chosen else None, "ai" if chosen else "none", auto_resolved=bool(chosen and chosen.auto_resolve),
        confidence=round(prediction.confidence, 4), candidates=candidates, warning=warning,
    )


def describe(request: CreateTicketRequest, written_description: str | None) -> tuple[str, bool]:
    """(description, generated): the request's own, else one written from its messages (by the
    LLM engine when it wrote one, else ``describe_conversation``)."""
    if request.description is None and request.messages:
        return written_description or describe_conversation(request.messages), True
    return request.description or "", False


def route_ticket(
    scoped: Scoped, config: OrgConfig, request: CreateTicketRequest, choice: CategoryChoice,
    customer: dict[str, Any], description: str,
) -> routing.Decision:
    """The organization's routing decision; an auto-resolved ticket is not routed."""
    if choice.auto_resolved:
        return routing.Decision(reason="auto-resolved by its category: not routed")
    facts = TicketFacts(
        category=choice.category.name if choice.category else None,
        priority=request.priority or Priority.MEDIUM,
        email=customer["email"],
        text_parts=(request.title, description, *(m.content for m in request.messages or [])),
    )
    return routing.route(scoped, facts, customer_id=customer["id"], rules=config.rules)


class NewTicket(NamedTuple):
    """Everything the ticket's row holds, decided before it is written."""

    id: str
    request: CreateTicketRequest
    customer: dict[str, Any]
    customer_created: bool
    choice: CategoryChoice
    description: str
    description_generated: bool
    decision: routing.Decision
    now: datetime
    status: str
    priority: str


# Plain strings on the hot path: the drivers bind an exact str faster than a StrEnum member.
_RESOLVED, _OPEN, _MEDIUM = Status.RESOLVED.value, Status.OPEN.value, Priority.MEDIUM.value


def _status_and_priority(choice: CategoryChoice, request: CreateTicketRequest,
                         decision: routing.Decision) -> tuple[str, str]:
    status = _RESOLVED if choice.auto_resolved else _OPEN
    return status, str(decision.priority or request.priority or _MEDIUM)


def _ticket_row(ticket: NewTicket) -> dict[str, Any]:
    choice, decision, now, messages = ticket.choice, ticket.decision, ticket.now, ticket.request.messages
    return {
        "id": ticket.id, "customer_id": ticket.customer["id"], "title": ticket.request.title,
        "description": ticket.description, "description_generated": ticket.description_generated,
        "priority": ticket.priority, "status": ticket.status,
        "category_id": choice.category.id if choice.category else None, "category_source": choice.source,
        "category_confidence": choice.confidence, "category_candidates": choice.candidates,
        "resolved_at": now if choice.auto_resolved else None,
        "assignee_id": decision.assignee["id"] if decision.assignee else None,
        "routed_by_rule_id": decision.rule_id, "routing_reason": decision.reason,
        "slack_channel": decision.slack_channel, "tags": decision.tags, "created_at": now, "updated_at": now,
        "last_customer_message_at": now if any(m.role == "customer" for m in messages or []) else None,
        # A new ticket waits for an answer unless its conversation ends with one.
        "waiting_since": None if messages and messages[-1].role != "customer" else now,
    }


_INSERT_TICKET: dict[tuple[str, tuple[str, ...]], Prepared] = {}


def _insert_ticket(dialect: str, columns: tuple[str, ...]) -> Prepared:
    """The row's INSERT, numbering it (``tickets/numbers.py``); on PostgreSQL with its search
    document in the same statement (a round trip less)."""
    prepared = _INSERT_TICKET.get((dialect, columns))
    if prepared is None:
        row = numbered(tenant_insert(tickets).values({column: bindparam(column) for column in columns}), dialect)
        prepared = Prepared(row if dialect == "sqlite" else search.with_document(row))
        _INSERT_TICKET[(dialect, columns)] = prepared
    return prepared


def insert_ticket(scoped: Scoped, ticket: NewTicket) -> None:
    """The ticket's row, its messages and its search document."""
    messages = ticket.request.messages
    people = " ".join(filter(None, (ticket.customer["name"], ticket.customer["email"])))
    document = search.NewDocument(ticket.request.title, people, ticket.description, [m.content for m in messages or []])
    row = _ticket_row(ticket)
    insert = _insert_ticket(scoped.conn.dialect.name, tuple(row))
    if scoped.db.is_sqlite:
        inserted = scoped.execute_prepared(insert, row)
        search.index_new_ticket(scoped, inserted.lastrowid, document)
    else:
        scoped.execute_prepared(insert, {**row, **number_params(scoped), **search.document_params(document)})
    if messages:
        scoped.execute_many(_INSERT_MESSAGE, [
            {"ticket_id": ticket.id, "position": position, "role": m.role, "content": m.content,
             "created_at": ticket.now}
            for position, m in enumerate(messages)
        ])


def announce(scoped: Scoped, config: OrgConfig, ticket: NewTicket) -> None:
    """``ticket.created`` to the outbox, unless the ticket was resolved at once (never announced)."""
    if ticket.status == _RESOLVED:
        return
    customer, created_at = ticket.customer, ticket.now.isoformat()
    events.publish(
        scoped,
        events.TICKET_CREATED,
        {
            "id": ticket.id, "title": ticket.request.title, "description": ticket.description,
            "priority": ticket.priority, "status": ticket.status,
            "category": ticket.choice.category.name if ticket.choice.category else None,
            "categorySource": ticket.choice.source,
            "customer": {"id": customer["id"], "email": customer["email"], "name": customer["name"]},
            "assignee": ticket.decision.assignee, "tags": ticket.decision.tags, "createdAt": created_at,
            "firstCustomerMessage": first_customer_message(ticket.request.messages or []),
        },
        slack_channel=ticket.decision.slack_channel, destinations=config, now=ticket.now, occurred_at=created_at,
    )


def create_ticket(
    scoped: Scoped,
    request: CreateTicketRequest,
    *,
    config: OrgConfig | None = None,
    prediction: Prediction | None = None,
    categorize_inline: bool = False,
    written_description: str | None = None,
) -> CreatedTicket:
    """Open the ticket: choose the category → describe → route → insert → announce.

    ``config`` is the organization's cached configuration when the caller has it (``orgs.config``).
    ``prediction`` is the categorizer's answer, asked before the unit of work (``api.create_ticket``);
    without one, the ticket is left uncategorized, unless ``categorize_inline`` (CLI) asks it here.
    Routing comes before the insert because the row holds its decision (assignee, priority, tags).
    """
    if config is None:
        config = org_config.load(scoped)
    if prediction is None and categorize_inline and config.ai_categories:
        question = categorizer_request(scoped.org_id, config, request)
        prediction = _categorize_now(scoped, question) if question is not None else None
    choice = choose_category(config, request, prediction)
    customer, customer_created = _resolve_customer(scoped, request)
    description, generated = describe(request, written_description)
    decision = route_ticket(scoped, config, request, choice, customer, description)
    ticket = NewTicket(ids.ticket_id(), request, customer, customer_created, choice, description, generated,
                       decision, utcnow(), *_status_and_priority(choice, request, decision))
    insert_ticket(scoped, ticket)
    announce(scoped, config, ticket)
    return CreatedTicket(
        id=ticket.id, customer_id=customer["id"], customer_created=customer_created,
        category=choice.category.name if choice.category else None, category_source=choice.source,
        status=ticket.status, description_generated=generated, priority=ticket.priority, tags=decision.tags,
        confidence=choice.confidence, candidates=choice.candidates, assignee=decision.assignee,
        routing_rule_id=decision.rule_id, routing_reason=decision.reason,
        warnings=[choice.warning] if choice.warning else [],
    )


def _categorize_now(scoped: Scoped, ask):
    """The categorizer in the caller's thread (CLI, dry runs): slow, so never on the request path.

    It answers as the server's categorizer would (``triage.runtime``): with the stored model, or,
    when there is none yet or it does not know a category now open to the AI, with the quick model
    the server would train for that ticket, trained here in memory and stored nowhere.
    """
    from telemetron.triage import Model, build_examples, train
    from telemetron.triage.store import BOOTSTRAP_MAX_TICKETS, stored_model, training_data

    row = stored_model(scoped)
    model = Model.from_bytes(row["model"]) if row is not None else None
    if model is None or not ask.allowed <= set(model.labels):
        data = training_data(scoped, BOOTSTRAP_MAX_TICKETS)
        if not data.categories:
            return None
        model = train(build_examples(data.categories, data.tickets), calibrate="prior")
    return model.predict([ask.text], threshold=ask.threshold, allowed=ask.allowed)[0]

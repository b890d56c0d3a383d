"""create_ticket's steps, without HTTP: the category choice and the description are pure; routing,
the insert and the announcement run against the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from telemetron.categories.values import AiCategory, CategoryRef
from telemetron.db.scoped import Scoped
from telemetron.orgs import config as org_config
from telemetron.orgs.config import OrgConfig
from telemetron.routing.service import add_rule
from telemetron.tickets import create
from telemetron.tickets.requests import parse_create_ticket
from telemetron.triage.classifier import Prediction
from tests.support.databases import count
from tests.support.tenants import make_tenant

BILLING = AiCategory("cat_billing", "Billing", auto_resolve=False, description="invoices")
FAQ = AiCategory("cat_faq", "FAQ", auto_resolve=True, description="answered questions")
ALSO_ACTIVE = CategoryRef("cat_legacy", "Legacy")  # active, not open to the AI


def config(*, ai: tuple[AiCategory, ...] = (BILLING, FAQ), rules: list | None = None) -> OrgConfig:
    active = {c.name.lower(): CategoryRef(c.id, c.name) for c in (*ai, ALSO_ACTIVE)}
    return OrgConfig(rules or [], None, None, [], active_categories=active,
                     ai_categories={c.id: c for c in ai}, triage_model_version=None, triage_threshold=None)


def request(**fields):
    return parse_create_ticket({"title": "Charged twice", "customerEmail": "ann@example.com", **fields})[0]


def guess(label: str | None, confidence: float) -> Prediction:
    return Prediction(label, confidence, [(label, confidence)] if label else [], threshold=0.5)


# --- choose the category ---------------------------------------------------------------------------


def test_a_named_active_category_is_taken_as_provided_whatever_the_ai_says():
    choice = create.choose_category(config(), request(category=" legacy "), guess(BILLING.id, 0.99))
    assert (choice.category, choice.source, choice.confidence, choice.warning) == (ALSO_ACTIVE, "provided", None, None)


def test_a_named_auto_resolve_category_resolves_the_ticket_too():
    choice = create.choose_category(config(), request(category="faq"), None)
    assert (choice.category, choice.auto_resolved) == (FAQ.ref, True)


def test_the_ai_chooses_when_sure_enough_and_says_how_sure():
    choice = create.choose_category(config(), request(), guess(BILLING.id, 0.61))
    assert (choice.category, choice.source, choice.confidence) == (BILLING.ref, "ai", 0.61)
    assert choice.candidates == [{"category": "Billing", "score": 0.61}]


@pytest.mark.parametrize("confidence,chosen", [(0.79, None), (0.8, FAQ.ref)])
def test_the_ai_auto_resolves_only_from_0_8(confidence, chosen):
    choice = create.choose_category(config(), request(), guess(FAQ.id, confidence))
    assert (choice.category, choice.auto_resolved) == (chosen, chosen is not None)


def test_an_unmatched_name_is_a_warning_that_says_what_happened():
    left = create.choose_category(config(), request(category="Shipping"), None)
    assert (left.category, left.source) == (None, "none")
    assert left.warning == "category 'Shipping' matches no active category of this organization; " \
                           "the ticket was left uncategorized"
    chosen = create.choose_category(config(), request(category="Shipping"), guess(BILLING.id, 0.9))
    assert chosen.warning.endswith("categorized automatically as 'Billing'")


def test_an_answer_naming_a_category_no_longer_open_to_the_ai_is_not_used():
    choice = create.choose_category(config(ai=(FAQ,)), request(), guess(BILLING.id, 0.95))
    assert (choice.category, choice.source, choice.candidates) == (None, "none", [])


# --- describe ------------------------------------------------------------------------------------


def test_the_description_is_the_requests_own_else_written_from_the_messages():
    assert create.describe(request(description="It broke"), "LLM text") == ("It broke", False)
    talk = request(messages=[{"role": "customer", "content": "I was charged twice"}])
    assert create.describe(talk, "LLM text") == ("LLM text", True)
    text, generated = create.describe(talk, None)
    assert generated and "I was charged twice" in text
    assert create.describe(request(), None) == ("", False)


# --- route, insert, announce (database) ------------------------------------------------------------


def test_routing_decides_the_rows_priority_and_an_auto_resolved_ticket_is_not_routed(db):
    tenant = make_tenant(db)

    def unit(conn):
        scoped = Scoped(db, conn, tenant.id)
        add_rule(scoped, name="Urgent billing", conditions={"ticketCategory": ["billing"]},
                 actions={"setPriority": "urgent"})
        loaded = org_config.load(scoped)
        billing = create.CategoryChoice(CategoryRef("x", "Billing"), "provided")
        customer = {"id": "cust_x", "email": "ann@example.com", "name": None}
        routed = create.route_ticket(scoped, loaded, request(), billing, customer, "")
        resolved = create.CategoryChoice(CategoryRef("x", "Billing"), "provided", auto_resolved=True)
        return routed, create.route_ticket(scoped, loaded, request(), resolved, customer, "")

    routed, not_routed = db.run_sync(unit)
    assert routed.priority == "urgent" and "Urgent billing" in routed.reason
    assert (not_routed.priority, not_routed.reason) == (None, "auto-resolved by its category: not routed")


@pytest.mark.parametrize("auto_resolved", [False, True])
def test_insert_writes_the_row_and_messages_and_only_an_open_ticket_is_announced(db, auto_resolved):
    tenant = make_tenant(db)
    talk = request(messages=[{"role": "customer", "content": "hello"}, {"role": "bot", "content": "hi"}])

    def unit(conn):
        scoped = Scoped(db, conn, tenant.id)
        from telemetron.customers.service import get_or_create_by_email
        from telemetron.notifications.settings import add_endpoint

        add_endpoint(scoped, url="http://127.0.0.1:9/hook")  # somewhere to announce it to
        customer, created = get_or_create_by_email(scoped, "ann@example.com")
        choice = create.CategoryChoice(None, "none", auto_resolved=auto_resolved)
        ticket = create.NewTicket(str(uuid.uuid4()), talk, customer, created, choice,
                                   "desc", False, create.routing.Decision(), datetime.now(UTC),
                                   status="resolved" if auto_resolved else "open", priority="medium")
        create.insert_ticket(scoped, ticket)
        create.announce(scoped, org_config.load(scoped), ticket)
        return ticket.id

    ticket_id = db.run_sync(unit)
    assert count(db, "select count(*) from tickets where id = :t and status = :s", t=ticket_id,
                 s="resolved" if auto_resolved else "open") == 1
    assert count(db, "select count(*) from ticket_messages where ticket_id = :t", t=ticket_id) == 2
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=ticket_id) == (0 if auto_resolved else 1)

"""The categorizer in createTicket, as a new user meets it through the API.

A new organization with a few categories and descriptions gets sensible categories for its very
first tickets; the response explains the choice; unsure means none; auto-resolve resolves and
stays quiet; corrections teach it; one organization's tickets never teach another's.
"""

from __future__ import annotations

import pytest

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from telemetron.notifications.settings import set_settings
from tests.support.databases import count
from tests.support.triage import ai_tenant, create_ticket

URL = "/api/ext-v1/ticket/createTicket"


@pytest.mark.parametrize(
    "title,expected",
    [
        ("My phone keeps dropping the WiFi connection", "Connectivity"),
        ("Bluetooth pairing fails with my headphones", "Connectivity"),
        ("The battery is empty after two hours", "Battery"),
        ("I got charged twice on this month's invoice", "Billing"),
        ("I want a refund for my subscription", "Billing"),
    ],
)
def test_a_new_organization_gets_sensible_categories_for_its_first_tickets(http, db, title, expected):
    tenant = ai_tenant(db)
    body = create_ticket(http, tenant, title=title)
    assert body["category"] == expected, body
    assert body["categorySource"] == "ai"
    assert 0 < body["categoryConfidence"] <= 1
    candidates = body["categoryCandidates"]
    assert 1 <= len(candidates) <= 3 and candidates[0]["category"] == expected
    assert [c["score"] for c in candidates] == sorted((c["score"] for c in candidates), reverse=True)
    stored = count(db, "select count(*) from tickets where id = :t and category_source = 'ai' and category_id is not null",
                   t=body["ticketId"])
    assert stored == 1


def test_the_customers_messages_are_read_too(http, db):
    tenant = ai_tenant(db)
    body = create_ticket(http, tenant, title="Help needed", messages=[
        {"role": "bot", "content": "Hello! What can I do for you?"},
        {"role": "customer", "content": "My invoice shows a payment I never made, I need a refund"},
    ])
    assert body["category"] == "Billing" and body["categorySource"] == "ai"


def test_an_unmatched_category_name_goes_to_the_categorizer_with_a_warning(http, db):
    tenant = ai_tenant(db)
    body = create_ticket(http, tenant, title="Charging cable gets hot and the battery dies", category="Power stuff")
    assert body["category"] == "Battery" and body["categorySource"] == "ai"
    assert any("Power stuff" in w and "categorized automatically as 'Battery'" in w for w in body["warnings"])


def test_unsure_means_none(http, db):
    tenant = ai_tenant(db)
    with db.engine.begin() as conn:  # an organization that wants near-certainty
        conn.exec_driver_sql(f"update organizations set triage_threshold = 0.999, config_version = config_version + 1 "
                             f"where id = '{tenant.id}'")
    body = create_ticket(http, tenant, title="Question about your company")
    assert body["category"] is None and body["categorySource"] == "none"
    assert body["categoryConfidence"] < 0.999 and body["categoryCandidates"]  # still explains itself


def test_auto_resolve_category_resolves_at_once_and_sends_nothing(http, db):
    tenant = ai_tenant(db)
    db.run_sync(lambda conn: set_settings(Scoped(db, conn, tenant.id), slack_webhook_url="http://127.0.0.1:9/x"))
    body = create_ticket(http, tenant, title="How do I reset my password?")
    assert body["category"] == "Password reset" and body["status"] == "resolved"
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=body["ticketId"]) == 0
    assert count(db, "select count(*) from tickets where id = :t and resolved_at is not null", t=body["ticketId"]) == 1
    other = create_ticket(http, tenant, title="My WiFi keeps disconnecting")
    assert other["status"] == "open"
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=other["ticketId"]) == 1


def test_a_ticket_filed_into_an_auto_resolve_category_is_resolved_too(http, db):
    tenant = ai_tenant(db)
    db.run_sync(lambda conn: set_settings(Scoped(db, conn, tenant.id), slack_webhook_url="http://127.0.0.1:9/x"))
    body = create_ticket(http, tenant, title="Customer reset their password with the bot", category=" password RESET ")
    assert body["category"] == "Password reset" and body["categorySource"] == "provided"
    assert body["status"] == "resolved" and body["assignee"] is None
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=body["ticketId"]) == 0
    ticket = http.get(f"/api/ext-v1/ticket/getTicket/{body['ticketId']}", headers=tenant.headers).json()["ticket"]
    assert ticket["status"] == "resolved" and ticket["resolvedAt"]


def test_a_provided_category_is_not_second_guessed(http, db):
    tenant = ai_tenant(db)
    body = create_ticket(http, tenant, title="My WiFi keeps disconnecting", category="billing")
    assert body["category"] == "Billing" and body["categorySource"] == "provided"
    assert body["categoryConfidence"] is None and body["categoryCandidates"] is None


def test_the_model_is_stored_and_survives_a_restart(http, db):
    from telemetron.triage.runtime import Categorizer, Request

    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="The battery is empty after two hours")  # trains and stores its model
    assert count(db, "select count(*) from triage_models where organization_id = :o", o=tenant.id) == 1

    import asyncio

    async def predict_with_a_fresh_process_state():
        fresh = Categorizer(db)  # as after a restart: nothing in memory
        version = db.run_sync(lambda conn: conn.exec_driver_sql(
            f"select version from triage_models where organization_id = '{tenant.id}'").scalar_one())
        allowed = frozenset(r[0] for r in db.run_sync(lambda conn: conn.exec_driver_sql(
            f"select id from categories where organization_id = '{tenant.id}'").all()))
        try:
            return await fresh.predict(Request(tenant.id, version, None, allowed, "refund for a double charge"))
        finally:
            fresh.close()

    prediction = asyncio.run(predict_with_a_fresh_process_state())
    name = db.run_sync(lambda conn: conn.exec_driver_sql(
        f"select name from categories where id = '{prediction.label}'").scalar_one())
    assert name == "Billing"


def test_corrections_teach_it_and_stay_within_the_organization(http, db):
    from telemetron.triage.store import (
        organizations_to_retrain,
        train_organization,
        training_data,
    )

    tenant, other = ai_tenant(db), ai_tenant(db)
    word = "zorblax"  # a made-up product name nobody's categories mention
    first = create_ticket(http, tenant, title=f"My {word} stopped working")
    for i in range(4):
        ticket = create_ticket(http, tenant, title=f"The {word} problem again, case {i}")
        response = http.post("/api/ext-v1/ticket/updateTicket", headers=tenant.headers,
                             json={"ticketId": ticket["ticketId"], "category": "Billing"})
        assert response.status_code == 200, response.text
    data = db.run_sync(lambda conn: training_data(Scoped(db, conn, tenant.id)))
    assert sum(t.corrected for t in data.tickets) == 4
    assert db.run_sync(lambda conn: training_data(Scoped(db, conn, other.id))).tickets == []
    with db.engine.begin() as conn:  # as if the model were older than the minute a burst is given to settle
        conn.exec_driver_sql(f"update triage_models set trained_at = '2000-01-01 00:00:00' where organization_id = '{tenant.id}'")
    assert tenant.id in db.run_sync(organizations_to_retrain)

    train_organization(db, tenant.id)
    after = create_ticket(http, tenant, title=f"{word} issue")
    assert after["category"] == "Billing", (first, after)
    # The other organization learnt nothing from it: its data has no tickets, and no corrections.
    assert count(db, "select count(*) from tickets where organization_id = :o and category_corrected_at is not null",
                 o=other.id) == 0


def test_a_broken_categorizer_never_costs_a_ticket(http, db, live_server, monkeypatch):
    tenant = ai_tenant(db)
    categorizer = live_server.server.config.app.state.ctx.categorizer

    def broken(*args, **kwargs):
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(categorizer, "_predict_batch", broken)
    body = create_ticket(http, tenant, title="My WiFi keeps disconnecting")
    assert body["category"] is None and body["categorySource"] == "none"
    assert count(db, "select count(*) from tickets where id = :t", t=body["ticketId"]) == 1


def _count_units(monkeypatch) -> list[bool]:
    """Each createTicket unit of work that writes from now on: whether it came with a prediction."""
    from telemetron.api import tickets as ticket_endpoints

    units: list[bool] = []
    real = ticket_endpoints.create_action

    def counted(prepared):
        units.append(prepared.prediction is not None)
        return real(prepared)

    monkeypatch.setattr(ticket_endpoints, "create_action", counted)
    return units


def _count_predictions(live_server, monkeypatch) -> list:
    """Each question the server's categorizer is asked from now on."""
    categorizer = live_server.server.config.app.state.ctx.categorizer
    asked: list = []
    real = categorizer.predict

    async def counted(request):
        asked.append(request)
        return await real(request)

    monkeypatch.setattr(categorizer, "predict", counted)
    return asked


def test_a_known_key_has_its_ticket_categorized_first_and_written_in_one_unit(http, db, monkeypatch):
    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")  # the server learns key and config
    units = _count_units(monkeypatch)
    body = create_ticket(http, tenant, title="I got charged twice on this month's invoice")
    assert body["category"] == "Billing" and body["categorySource"] == "ai"
    assert units == [True]  # categorized before the one unit that writes it


def test_a_changed_configuration_is_asked_its_own_question(http, db, monkeypatch):
    from telemetron.categories.service import find_by_name, update_category

    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")
    # Billing leaves the AI's choices in another process (the server's cached configuration is older).
    def billing_not_for_the_ai(conn):
        scoped = Scoped(db, conn, tenant.id)
        billing = find_by_name(scoped, "Billing")
        update_category(scoped, billing["id"], description=billing["description"], examples=billing["examples"],
                        active=True, ai_enabled=False, auto_resolve=False)

    db.run_sync(billing_not_for_the_ai)
    units = _count_units(monkeypatch)
    body = create_ticket(http, tenant, title="I got charged twice on this month's invoice")
    assert body["category"] != "Billing"
    assert "Billing" not in [c["category"] for c in body["categoryCandidates"]]
    assert units == [True]  # asked once, with the categories committed now


def test_a_category_added_while_the_server_runs_is_chosen_from_the_next_ticket(http, db):
    tenant = ai_tenant(db)
    assert create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")["category"] == "Connectivity"
    db.run_sync(lambda conn: add_category(
        Scoped(db, conn, tenant.id), name="Shipping",
        description="Deliveries, parcels, tracking numbers, couriers and late or lost packages",
        examples=["where is my parcel", "the courier never delivered my package"]))
    body = create_ticket(http, tenant, title="My package was never delivered, the tracking number shows nothing")
    assert body["category"] == "Shipping" and body["categorySource"] == "ai", body
    assert create_ticket(http, tenant, title="The battery is empty after two hours")["category"] == "Battery"


def test_a_revoked_key_is_refused_and_then_costs_no_prediction(http, db, live_server, monkeypatch):
    from telemetron.orgs.apikeys import revoke_api_key

    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")
    asked = _count_predictions(live_server, monkeypatch)
    db.run_sync(lambda conn: revoke_api_key(Scoped(db, conn, tenant.id), tenant.api_key_id))
    for _ in range(3):
        response = http.post(URL, headers=tenant.headers, json={"title": "The battery is empty", "customerEmail": "a@example.com"})
        assert response.status_code == 401
    assert len(asked) <= 1  # at most the first refusal was asked early; never again


def test_a_dry_run_answers_as_the_real_ticket_would_after_a_new_category(http, db):
    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")
    db.run_sync(lambda conn: add_category(
        Scoped(db, conn, tenant.id), name="Shipping",
        description="Deliveries, parcels, tracking numbers, couriers and late or lost packages",
        examples=["where is my parcel", "the courier never delivered my package"]))
    before = count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id)
    response = http.post(URL + "?dryRun=true", headers=tenant.headers,
                         json={"title": "My package was never delivered", "customerEmail": "ann@example.com"})
    assert response.status_code == 200, response.text
    assert response.json()["dryRun"] is True and response.json()["category"] == "Shipping"
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == before
    real = create_ticket(http, tenant, title="My package was never delivered")
    assert real["category"] == "Shipping"


def test_a_category_it_cannot_learn_does_not_retrain_it_on_every_ticket(http, db, monkeypatch):
    import telemetron.triage.store as store

    tenant = ai_tenant(db)
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="-"))  # no words to learn from
    trainings = []
    real = store.train_organization

    def counted(*args, **kwargs):
        trainings.append(kwargs.get("quick"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "train_organization", counted)
    create_ticket(http, tenant, title="My phone keeps dropping the WiFi connection")  # the first model, quick
    store.train_organization(db, tenant.id)  # as the background retrainer does: a new version, still without "-"
    for title in ("The battery is empty after two hours", "I got charged twice on this month's invoice"):
        assert create_ticket(http, tenant, title=title)["categorySource"] in ("ai", "none")
    assert trainings == [True, None]  # no quick retraining for "-" again


def test_a_first_request_that_is_a_dry_run_is_categorized_by_the_servers_categorizer(http, db, live_server, monkeypatch):
    tenant = ai_tenant(db)  # a key this server has never seen: nothing can be asked early
    asked = _count_predictions(live_server, monkeypatch)
    response = http.post(URL + "?dryRun=true", headers=tenant.headers,
                         json={"title": "I got charged twice on this month's invoice", "customerEmail": "ann@example.com"})
    assert response.status_code == 200, response.text
    assert response.json()["category"] == "Billing" and response.json()["categorySource"] == "ai"
    assert len(asked) == 1  # through the server's batched categorizer, not inside the unit of work
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 0


@pytest.mark.parametrize("confidence,resolved", [(0.7, False), (0.85, True)])
def test_the_ai_auto_resolves_only_when_it_is_quite_sure(db, confidence, resolved):
    """A wrong category costs a re-route; a wrong auto-resolve closes a customer's ticket unanswered
    and unannounced. So the AI puts a ticket into an auto-resolve category only at a confidence of
    0.8 or more: below, an agent sees it (it stays uncategorized, with the AI's candidates)."""
    from telemetron.orgs import config as org_config
    from telemetron.tickets.create import create_ticket
    from telemetron.tickets.requests import parse_create_ticket
    from telemetron.triage import Prediction

    tenant = ai_tenant(db)

    def unit(conn):
        scoped = Scoped(db, conn, tenant.id)
        label = next(label for label, category in org_config.load(scoped).ai_categories.items()
                     if category.name == "Password reset")
        guess = Prediction(label, confidence, [(label, confidence)], threshold=0.5)
        request = parse_create_ticket({"title": "Operating in Seattle?", "customerEmail": "ann@example.com"})[0]
        return create_ticket(scoped, request, prediction=guess)

    ticket = db.run_sync(unit)
    if resolved:
        assert (ticket.category, ticket.category_source, ticket.status) == ("Password reset", "ai", "resolved")
    else:
        assert (ticket.category, ticket.category_source, ticket.status) == (None, "none", "open")
        assert ticket.confidence == confidence and ticket.candidates == [{"category": "Password reset", "score": confidence}]

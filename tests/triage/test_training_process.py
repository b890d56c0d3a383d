"""Training runs in a child process, never in the server's; a failed training changes nothing;
training reads each ticket as prediction does (title, description, the customer's messages)."""

from __future__ import annotations

import asyncio
import os

import pytest

from telemetron.db.scoped import Scoped
from telemetron.triage import trainer
from telemetron.triage.runtime import Categorizer
from tests.support.databases import count
from tests.support.triage import ai_tenant, create_ticket


def model_row(db, org_id):
    return db.run_sync(lambda conn: conn.exec_driver_sql(
        f"select version, model from triage_models where organization_id = '{org_id}'").one())


def retrain(db, org_id, **kw):
    async def run():
        categorizer = Categorizer(db)
        try:
            return await categorizer.retrain(org_id, **kw)
        finally:
            categorizer.close()

    return asyncio.run(run())


def test_training_happens_in_a_child_process_and_is_stored(http, db, monkeypatch):
    from telemetron.triage import store

    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="The battery is empty after two hours")  # the first model (in-process, tiny)
    assert tenant.id not in db.run_sync(store.organizations_to_retrain)  # definitions only: nothing more to learn
    for title in ("My refund never arrived", "Charged twice this month"):
        create_ticket(http, tenant, title=title, category="Billing")
    version, _ = model_row(db, tenant.id)

    def in_this_process(*args, **kwargs):
        raise AssertionError("trained in the server's process")

    monkeypatch.setattr(store, "train_organization", in_this_process)  # the child does not see this
    report = retrain(db, tenant.id)
    assert report["trained"] and report["pid"] != os.getpid() and report["parent_pid"] == os.getpid()
    assert report["examples"] >= len(tenant.categories) + 2
    assert model_row(db, tenant.id)[0] == version + 1
    # This process (the server's) serves the new version with its next ticket.
    body = create_ticket(http, tenant, title="I want a refund for my subscription")
    assert body["category"] == "Billing" and body["categorySource"] == "ai"


@pytest.mark.parametrize("how", ["error", "timeout"])
def test_a_failed_training_leaves_the_old_model_in_service(http, db, monkeypatch, how):
    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="The battery is empty after two hours")
    before = model_row(db, tenant.id)
    if how == "error":
        monkeypatch.setenv("TELEMETRON_TRIAGE_ENGINE", "no-such-engine")  # the child fails at once
        with pytest.raises(trainer.TrainingFailed, match="no-such-engine"):
            retrain(db, tenant.id)
        monkeypatch.delenv("TELEMETRON_TRIAGE_ENGINE")
    else:
        with pytest.raises(trainer.TrainingFailed, match="took more than"):
            retrain(db, tenant.id, timeout=0.2)  # killed before it could store anything
    assert model_row(db, tenant.id) == before
    body = create_ticket(http, tenant, title="I got charged twice on this month's invoice")
    assert body["category"] == "Billing" and body["categorySource"] == "ai"


def test_a_killed_training_process_is_reaped():
    seen = []

    async def run():
        with pytest.raises(trainer.TrainingFailed):
            await trainer.train_in_subprocess("sqlite:////nonexistent/dir/x.db", "org_x", timeout=0.2,
                                              on_start=seen.append)

    asyncio.run(run())
    assert seen and seen[0].returncode is not None


def test_training_reads_the_text_prediction_reads(http, db):
    from telemetron.triage import ticket_text
    from telemetron.triage.store import training_data

    tenant = ai_tenant(db)
    customer = ["My invoice shows a payment I never made", "Please refund it"]
    create_ticket(http, tenant, title="Help needed", category="Billing", messages=[
        {"role": "bot", "content": "Hello! What can I do for you?"},
        {"role": "customer", "content": customer[0]},
        {"role": "agent", "content": "Let me check that for you."},
        {"role": "customer", "content": customer[1]},
    ])  # no description: one is generated from the messages, and prediction never sees it
    create_ticket(http, tenant, title="WiFi drops", description="Every hour or so", category="Connectivity",
                  messages=[{"role": "customer", "content": "Since Monday"}])
    texts = {t.text for t in db.run_sync(lambda conn: training_data(Scoped(db, conn, tenant.id))).tickets}
    assert texts == {ticket_text("Help needed", None, customer),
                     ticket_text("WiFi drops", "Every hour or so", ["Since Monday"])}
    assert "Help needed\n" + "\n".join(customer) in texts


def test_the_first_model_learns_from_a_few_tickets_and_the_rest_in_the_background(http, db, monkeypatch):
    from telemetron.triage import store

    monkeypatch.setattr(store, "BOOTSTRAP_MAX_TICKETS", 2)
    tenant = ai_tenant(db)
    for title in ("Refund please", "Double charge", "Invoice wrong"):
        create_ticket(http, tenant, title=title, category="Billing")
    create_ticket(http, tenant, title="The battery is empty after two hours")  # first model: 2 of the 3 tickets
    assert count(db, "select labelled_tickets from triage_models where organization_id = :o", o=tenant.id) == 2
    assert tenant.id in db.run_sync(store.organizations_to_retrain)  # all of them, soon, in a child process
    retrain(db, tenant.id)
    assert count(db, "select labelled_tickets from triage_models where organization_id = :o", o=tenant.id) == 3
    assert tenant.id not in db.run_sync(store.organizations_to_retrain)


def test_the_retrain_check_reads_only_what_changed_since_the_last_check(http, db):
    from datetime import timedelta

    from telemetron.db.engine import utcnow
    from telemetron.triage import store

    tenant = ai_tenant(db)
    create_ticket(http, tenant, title="Refund please", category="Billing")
    create_ticket(http, tenant, title="The battery is empty after two hours")  # the first model
    retrain(db, tenant.id)
    with db.engine.begin() as conn:  # as if trained before the minute a burst is given to settle
        conn.exec_driver_sql(f"update triage_models set trained_at = '2000-01-01 00:00:00' where organization_id = '{tenant.id}'")
    checked: dict = {}
    assert tenant.id not in db.run_sync(store.organizations_to_retrain, checked)
    assert utcnow() - checked[tenant.id] < store.CHECK_OVERLAP + timedelta(seconds=30)  # next time: from there
    create_ticket(http, tenant, title="Double charge", category="Billing")  # a new label
    assert tenant.id in db.run_sync(store.organizations_to_retrain, checked)
    # A label older than the last check's window is not read again (it was seen then).
    checked[tenant.id] = utcnow() + timedelta(minutes=1)
    assert tenant.id not in db.run_sync(store.organizations_to_retrain, checked)

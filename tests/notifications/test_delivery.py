"""Slack and webhook notifications, delivered by real workers to real HTTP receivers on localhost."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from telemetron.notifications.webhooks import verify
from tests.support.databases import count
from tests.support.notifications import outbox_state, use_slack, use_webhook
from tests.support.receiver import Reply
from tests.support.waiting import wait_until

URL = "/api/ext-v1/ticket/createTicket"


def create(http, tenant, **body):
    body = {"title": "Device not connecting to WiFi", "customerEmail": "john.doe@example.com", "priority": "high", **body}
    response = http.post(URL, headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_new_ticket_posts_a_block_kit_message_with_the_first_customer_message(http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    ticket = create(
        http, tenant, category="connectivity",
        messages=[{"role": "bot", "content": "Hi! How can I help?"}, {"role": "customer", "content": "My <device> won't join WiFi & keeps dropping"}],
    )

    message = receiver.wait_for(1)[0].json()
    # The plain-text fallback (notifications, clients without Block Kit) says it all too, escaped.
    assert message["text"] == (
        "New ticket [high]: Device not connecting to WiFi (john.doe@example.com)\n"
        "Category: Connectivity · Assignee: Unassigned\n"
        "> My &lt;device&gt; won't join WiFi &amp; keeps dropping\n"
        f"<https://help.example.com/tickets/{ticket['ticketId']}|Open ticket {ticket['ticketId'][:8]}>"
    )
    fields = " ".join(f["text"] for f in message["blocks"][1]["fields"])
    assert "*Priority:*\nhigh" in fields and "*Category:*\nConnectivity" in fields
    assert "*Customer:*\njohn.doe@example.com" in fields and "*Assignee:*\nUnassigned" in fields
    # The first *customer* message, escaped for Slack's mrkdwn.
    assert message["blocks"][2]["text"]["text"] == "> My &lt;device&gt; won't join WiFi &amp; keeps dropping"
    link = message["blocks"][3]["elements"][0]["text"]
    assert link.startswith(f"<https://help.example.com/tickets/{ticket['ticketId']}|Open ticket")
    wait_until(lambda: outbox_state(db, tenant.id) == [("delivered", 1, None)])


def test_long_first_message_is_trimmed(http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    create(http, tenant, messages=[{"role": "customer", "content": "word " * 1000}])
    quote = receiver.wait_for(1)[0].json()["blocks"][2]["text"]["text"]
    assert len(quote) <= 502 and quote.endswith("…")


def test_what_the_customer_wrote_keeps_its_lines_and_a_ticket_without_messages_shows_its_description(
        http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    create(http, tenant, title="Multi-line", messages=[{"role": "customer", "content": "Hello,\n\nmy router   reboots.\nThanks"}])
    create(http, tenant, title="From a form", description="Refund please, order <42>")
    by_title = {m["blocks"][0]["text"]["text"]: m for m in (r.json() for r in receiver.wait_for(2))}
    multi = by_title["New ticket: Multi-line"]
    assert multi["blocks"][2]["text"]["text"] == "> Hello,\n> my router reboots.\n> Thanks"
    assert multi["text"].endswith("> Hello,\n> my router reboots.\n> Thanks\n" + multi["text"].rsplit("\n", 1)[1])
    form = by_title["New ticket: From a form"]
    assert form["blocks"][2]["text"]["text"] == "> Refund please, order &lt;42&gt;"


def test_no_destination_means_no_notification(http, db, tenant):
    create(http, tenant)
    assert count(db, "select count(*) from outbox where organization_id = :o", o=tenant.id) == 0


def test_webhook_events_are_signed_and_verifiable(http, db, tenant, receiver, start_worker):
    receiver.start()
    endpoint = use_webhook(db, tenant.id, receiver.url)
    start_worker()
    ticket = create(http, tenant)

    request = receiver.wait_for(1)[0]
    assert request.headers["x-telemetron-event"] == "ticket.created"
    assert request.headers["x-telemetron-delivery"].isdigit()
    assert verify(endpoint["secret"], request.body, request.headers["x-telemetron-signature"])
    assert not verify("whsec_wrong", request.body, request.headers["x-telemetron-signature"])
    assert not verify(endpoint["secret"], request.body + b" ", request.headers["x-telemetron-signature"])
    event = request.json()
    assert event["event"] == "ticket.created" and event["organizationId"] == tenant.id
    assert event["ticket"]["id"] == ticket["ticketId"] and event["ticket"]["customer"]["email"] == "john.doe@example.com"


def test_a_receiver_down_for_a_while_gets_every_notification_when_back(http, db, tenant, receiver, start_worker):
    use_slack(db, tenant.id, receiver.url)  # nothing listens there yet
    start_worker()
    ids = {create(http, tenant, title=f"Outage ticket {i}")["ticketId"] for i in range(5)}
    wait_until(lambda: all(attempts >= 2 for _s, attempts, _e in outbox_state(db, tenant.id)))
    assert all(s == "pending" and "network error" in e for s, _a, e in outbox_state(db, tenant.id))

    receiver.start()
    received = receiver.wait_for(5, timeout=30)
    assert {r.json()["text"].split(": ", 1)[1].split(" (")[0] for r in received} == {f"Outage ticket {i}" for i in range(5)}
    wait_until(lambda: [s for s, _a, _e in outbox_state(db, tenant.id)] == ["delivered"] * 5)
    assert len(ids) == 5


def test_slack_429_retry_after_is_waited_out(http, db, tenant, receiver, start_worker):
    receiver.answer(Reply(429, "rate_limited", {"Retry-After": "1"})).start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    create(http, tenant)
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 0.95
    wait_until(lambda: outbox_state(db, tenant.id) == [("delivered", 2, None)])


def test_a_500_is_retried_and_every_attempt_is_recorded(http, db, tenant, receiver, start_worker):
    receiver.answer(Reply(500, "boom"), Reply(503, "busy")).start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    create(http, tenant)
    receiver.wait_for(3)
    wait_until(lambda: outbox_state(db, tenant.id) == [("delivered", 3, None)])
    with db.engine.connect() as conn:
        attempts = conn.exec_driver_sql(
            "select a.outcome, a.status_code from outbox_attempts a join outbox o on o.id = a.message_id "
            f"where o.organization_id = '{tenant.id}' order by a.id"
        ).all()
    assert attempts == [("retry", 500), ("retry", 503), ("delivered", 200)]


@pytest.mark.parametrize(("destination", "status", "body"), [
    ("slack", 404, "channel_not_found"), ("slack", 403, "invalid_token"), ("slack", 410, "channel_is_archived"),
    ("webhook", 404, "no such hook"), ("webhook", 410, "gone"),  # no such endpoint: retrying would not make one
])
def test_a_permanent_error_stops_the_retries(http, db, tenant, receiver, start_worker, destination, status, body):
    receiver.answer(Reply(status, body)).start()
    (use_slack if destination == "slack" else use_webhook)(db, tenant.id, receiver.url)
    start_worker()
    create(http, tenant)
    receiver.wait_for(1)
    wait_until(lambda: outbox_state(db, tenant.id) and outbox_state(db, tenant.id)[0][0] == "failed")
    _status, attempts, error = outbox_state(db, tenant.id)[0]
    assert attempts == 1 and str(status) in error and body in error
    time.sleep(0.6)  # several retry periods: nothing more is sent
    assert len(receiver.requests) == 1


def test_what_a_customer_wrote_cannot_ping_a_channel_through_the_fallback(http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    start_worker()
    ticket_id = create(http, tenant, title="Ping <!channel> & co")["ticketId"]
    receiver.wait_for(1)
    response = http.post("/api/ext-v1/ticket/addMessage", headers=tenant.headers,
                         json={"ticketId": ticket_id, "role": "customer", "content": "<!here> <https://evil.example|click>"})
    assert response.status_code == 200, response.text
    texts = [r.json()["text"] for r in receiver.wait_for(2)]
    assert all("<!" not in t and "evil.example|" not in t.replace("&lt;https://evil.example|click&gt;", "") for t in texts), texts
    assert any("Ping &lt;!channel&gt; &amp; co" in t for t in texts)
    assert any("&lt;!here&gt; &lt;https://evil.example|click&gt;" in t for t in texts)


def test_the_slack_url_never_appears_in_an_error(http, db, tenant, start_worker):
    secret_url = f"http://127.0.0.1:9/services/T000/B000/{uuid.uuid4().hex}"  # port 9: refused
    use_slack(db, tenant.id, secret_url)
    start_worker()
    create(http, tenant)
    wait_until(lambda: outbox_state(db, tenant.id)[0][1] >= 1 and outbox_state(db, tenant.id)[0][2] is not None)
    with db.engine.connect() as conn:
        errors = [r[0] or "" for r in conn.exec_driver_sql("select error from outbox_attempts").all()]
    assert not any("services/T000" in e for e in errors)


def test_a_worker_killed_mid_delivery_loses_nothing(http, db, tenant, receiver, spawn_worker):
    # The first delivery hangs; the worker is killed while waiting for it; its claim expires (lease
    # 2 s) and a new worker delivers the message.
    receiver.answer(Reply(200, "ok", delay=30)).start()
    use_slack(db, tenant.id, receiver.url)
    victim = spawn_worker("victim", telemetron_outbox_lease_seconds=2, telemetron_outbox_delivery_timeout_seconds=1.5)
    create(http, tenant, title="Survives a crash")
    receiver.wait_for(1, timeout=30)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    assert outbox_state(db, tenant.id)[0][0] == "pending"

    spawn_worker("rescuer", telemetron_outbox_lease_seconds=2)
    second = receiver.wait_for(2, timeout=30)[1]
    assert "Survives a crash" in second.json()["text"]
    wait_until(lambda: outbox_state(db, tenant.id)[0][0] == "delivered")


def test_two_workers_deliver_a_thousand_notifications_once_each(db, tenant, receiver, spawn_worker):
    """1,000 tickets, each one event row fanned out to Slack and a webhook: 2,000 deliveries, once each."""
    from telemetron.db.scoped import Scoped
    from telemetron.tickets.create import create_ticket
    from telemetron.tickets.requests import parse_create_ticket

    receiver.start()
    use_slack(db, tenant.id, receiver.url.replace("/hook", "/slack"))
    use_webhook(db, tenant.id, receiver.url)

    def make_tickets(conn, start):
        scoped = Scoped(db, conn, tenant.id)
        for i in range(start, start + 100):
            create_ticket(scoped, parse_create_ticket({"title": f"Bulk {i}", "customerEmail": f"bulk{i % 37}@example.com"})[0])

    for start in range(0, 1000, 100):
        db.run_sync(make_tickets, start)
    assert count(db, "select count(*) from outbox where organization_id = :o", o=tenant.id) == 1000  # one per event
    spawn_worker("worker-a")
    spawn_worker("worker-b")

    received = receiver.wait_for(2000, timeout=120)
    time.sleep(1)  # anything extra would have arrived by now
    hooks = [r for r in receiver.requests if r.path == "/hook"]
    deliveries = [r.headers["x-telemetron-delivery"] for r in hooks]
    assert len(deliveries) == 1000 and len(set(deliveries)) == 1000
    assert {r.json()["ticket"]["title"] for r in hooks} == {f"Bulk {i}" for i in range(1000)}
    slack = [r.json()["text"].split(": ", 1)[1].split(" (")[0] for r in receiver.requests if r.path == "/slack"]
    assert len(slack) == 1000 and set(slack) == {f"Bulk {i}" for i in range(1000)}
    assert len(receiver.requests) == len(received) == 2000
    wait_until(lambda: count(db, "select count(*) from outbox where organization_id = :o and status = 'delivered'", o=tenant.id) == 2000)
    assert count(db, "select count(*) from outbox where organization_id = :o and channel = 'event' "
                     "and status = 'fanned_out'", o=tenant.id) == 1000  # each event fanned out, once
    assert count(db, "select count(*) from outbox where organization_id = :o", o=tenant.id) == 3000
    with db.engine.connect() as conn:
        workers = {r[0] for r in conn.exec_driver_sql(
            "select distinct a.worker from outbox_attempts a join outbox o on o.id = a.message_id "
            f"where o.organization_id = '{tenant.id}'").all()}
    assert workers == {"worker-a", "worker-b"}  # both took part


def test_customer_reply_and_status_change_are_announced(http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    endpoint = use_webhook(db, tenant.id, receiver.url.replace("/hook", "/webhook"))
    start_worker()
    ticket_id = create(http, tenant)["ticketId"]
    receiver.wait_for(2)  # the new ticket, on Slack and on the webhook

    def post(path, body):
        response = http.post(f"/api/ext-v1/ticket/{path}", headers=tenant.headers, json={"ticketId": ticket_id, **body})
        assert response.status_code == 200, response.text

    post("updateTicket", {"status": "resolved"})
    # An agent's reply goes to the webhooks (the app that opened the ticket delivers it), not to Slack.
    post("addMessage", {"role": "agent", "content": "Fixed on our side."})
    post("addMessage", {"role": "agent", "content": "Checking the logs.", "internal": True})  # a note: nothing
    post("addMessage", {"role": "customer", "content": "Still broken, sorry!"})  # reopens: one notification

    requests = receiver.wait_for(7)
    time.sleep(0.5)
    assert len(receiver.requests) == 7
    # Deliveries run in parallel: no order is promised (webhook events carry occurredAt).
    slack = {r.json()["text"].split(" [")[0]: r.json() for r in requests[2:] if r.path == "/hook"}
    hooks = {r.headers["x-telemetron-event"]: r for r in requests[2:] if r.path == "/webhook"}
    # The reply that reopened the resolved ticket says so (one message for the reply and the reopening).
    assert set(slack) == {"Ticket status changed", "Customer replied and reopened the ticket"}
    assert "open → resolved" in slack["Ticket status changed"]["text"]
    assert slack["Customer replied and reopened the ticket"]["blocks"][2]["text"]["text"] == "> Still broken, sorry!"
    # In the fallback too, what the customer wrote is a quote of its own, not run on after the email.
    assert "(john.doe@example.com)\n> Still broken, sorry!" in slack["Customer replied and reopened the ticket"]["text"]
    assert set(hooks) == {"ticket.status_changed", "ticket.agent_replied", "ticket.customer_replied"}
    assert hooks["ticket.status_changed"].json()["detail"] == {"from": "open", "to": "resolved"}
    answered = hooks["ticket.agent_replied"].json()["detail"]
    assert answered["content"] == "Fixed on our side." and answered["author"] is None
    assert isinstance(answered["messageId"], int)
    reply = hooks["ticket.customer_replied"].json()
    assert reply["detail"]["content"] == "Still broken, sorry!" and reply["detail"]["reopened"] is True
    assert reply["ticket"]["status"] == "open"
    assert all(verify(endpoint["secret"], h.body, h.headers["x-telemetron-signature"]) for h in hooks.values())


def test_a_malformed_message_fails_alone(http, db, tenant, receiver, start_worker):
    receiver.start()
    use_slack(db, tenant.id, receiver.url)
    create(http, tenant, title="First")
    with db.engine.begin() as conn:  # as if written by an older version in another shape
        conn.exec_driver_sql(f"update outbox set payload = '{{\"text\": \"old shape\"}}' where organization_id = '{tenant.id}'")
    create(http, tenant, title="Second")
    start_worker()
    assert "Second" in receiver.wait_for(1)[0].json()["text"]
    wait_until(lambda: sorted(s for s, _a, _e in outbox_state(db, tenant.id)) == ["delivered", "failed"])
    assert any(e and "cannot prepare the message" in e for _s, _a, e in outbox_state(db, tenant.id))

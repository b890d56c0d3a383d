"""The admins' Slack and webhook settings through the real server: Slack's URL and default channel,
"Send a test" through the outbox to a real local receiver (its answer shown, success or not), a
webhook added with its secret shown once, its recent deliveries and a retry of a failed one; each
change audited with the admin's name; another organization's ids are 404s, agents get 403s."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import text

from telemetron.notifications import webhooks
from telemetron.web import admin_notifications
from tests.support.databases import count
from tests.support.http import create_ticket
from tests.support.notifications import ThreadWorker, use_slack, use_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.servers import free_port

PAGE = "/admin/notifications"


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def worker(database_url):
    w = ThreadWorker(database_url, "settings-test-worker").start()
    yield w
    w.stop()


def audit_actions(db, org_id: str) -> list[tuple[str, str, str]]:
    return db.run_sync(lambda conn: [tuple(r) for r in conn.execute(text(
        "select action, actor_label, cast(details as text) from audit_events where organization_id = :o order by id"),
        {"o": org_id}).all()])


def test_slack_url_and_default_channel_then_a_test_that_reaches_the_channel(admin, org, db, receiver, worker, http):
    secret_url = receiver.url + "/T0/B0/secretpart123"
    saved = admin.submit(PAGE, f"{PAGE}/slack", {"webhook_url": secret_url, "channel": "#support"})
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"]).text
    assert "Slack settings saved" in page and "secretpart123" not in page and "…t123" in page
    assert 'value="#support"' in page  # the channel is not a secret; the URL field stays empty
    # Only the channel changes when the URL field is left empty (the URL is never sent back).
    assert admin.submit(PAGE, f"{PAGE}/slack", {"webhook_url": "", "channel": "#help-desk"}).status_code == 303
    refused = admin.submit(PAGE, f"{PAGE}/slack", {"webhook_url": "", "channel": "#two words"})
    assert refused.status_code == 400 and "channel takes a Slack channel such as #support" in refused.text

    tested = admin.submit(PAGE, f"{PAGE}/slack/test", {})
    assert tested.status_code == 200, tested.text
    assert re.search(r'id="test-result">Test delivered: Slack answered 200\.<', tested.text)
    message = receiver.wait_for(1)[0]
    assert message.path == "/hook/T0/B0/secretpart123"
    assert message.json()["channel"] == "#help-desk" and "Test from Telemetron" in message.json()["text"]

    # Ticket events go to the default channel too.
    create_ticket(http, org.tenant, title="Router down")
    assert receiver.wait_for(2)[1].json()["channel"] == "#help-desk"
    log = audit_actions(db, org.id)
    assert ("slack.test_sent", org.admin.email) in [(a, who) for a, who, _ in log]
    assert not any("secretpart123" in details for _, _, details in log)


def test_a_slack_test_shows_what_slack_answered(admin, org, db, receiver, worker):
    use_slack(db, org.id, receiver.url)
    receiver.answer(Reply(404, "no_service"))
    tested = admin.submit(PAGE, f"{PAGE}/slack/test", {})
    assert tested.status_code == 200
    assert "The test failed: Slack answered 404 no_service. It will not be retried." in tested.text
    assert 'role="alert" id="test-result"' in tested.text


def test_a_test_without_a_worker_says_it_is_queued(admin, org, db, receiver, monkeypatch):
    monkeypatch.setattr(admin_notifications, "TEST_WAIT_SECONDS", 0.3)
    use_slack(db, org.id, receiver.url)
    tested = admin.submit(PAGE, f"{PAGE}/slack/test", {})
    assert "The test is queued, but no worker has sent it yet" in tested.text
    assert count(db, "select count(*) from outbox where organization_id = :o and event = 'slack.test' "
                     "and status = 'pending'", o=org.id) == 1


def test_a_slack_test_without_a_url_is_refused(admin, org):
    refused = admin.submit(PAGE, f"{PAGE}/slack/test", {})
    assert refused.status_code == 400 and "Save a Slack incoming webhook URL first" in refused.text


def test_admin_adds_a_webhook_sees_its_secret_once_and_a_signed_test_arrives(admin, org, db, receiver, worker):
    page = admin.get(PAGE).text
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    added = admin.post(f"{PAGE}/webhooks", data={"url": receiver.url, "once": once, "csrf": csrf})
    assert added.status_code == 201
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', added.text).group(1)
    assert secret not in admin.get(PAGE).text
    again = admin.post(f"{PAGE}/webhooks", data={"url": receiver.url, "once": once, "csrf": csrf})
    assert again.status_code == 200 and "This form was sent before" in again.text and secret not in again.text
    assert count(db, "select count(*) from webhook_endpoints where organization_id = :o", o=org.id) == 1
    endpoint_id = re.search(r'id="webhook-(whk_[0-9a-f]+)"', again.text).group(1)

    tested = admin.submit(PAGE, f"{PAGE}/webhooks/{endpoint_id}/test", {})
    assert tested.status_code == 200
    assert "Test delivered: the endpoint answered 200." in tested.text
    arrived = receiver.wait_for(1)[0]
    assert arrived.headers["x-telemetron-event"] == "webhook.test"
    assert webhooks.verify(secret, arrived.body, arrived.headers["x-telemetron-signature"])
    assert arrived.json()["test"] is True and arrived.json()["webhookId"] == endpoint_id
    assert re.search(r"<td data-label=\"Event\">webhook.test</td>\s*<td data-label=\"State\">delivered</td>\s*"
                     r"<td data-label=\"Answer\">HTTP 200</td>", tested.text)
    actions = [a for a, who, _ in audit_actions(db, org.id) if who == org.admin.email]
    assert actions[-2:] == ["webhook.added", "webhook.test_sent"]


def test_a_failed_delivery_is_listed_with_its_answer_and_retried(admin, org, db, receiver, worker, http):
    endpoint = use_webhook(db, org.id, receiver.url)
    receiver.answer(Reply(410, "gone for now"))
    create_ticket(http, org.tenant, title="Fan is loud")
    receiver.wait_for(1)
    path = f"{PAGE}/webhooks/{endpoint['id']}"
    page = settled(admin, path, 'class="failed"')
    row = re.search(r'<tr id="delivery-(\d+)" class="failed">(.*?)</tr>', page, re.S)
    assert row, page
    assert "ticket.created" in row.group(2) and "HTTP 410: the endpoint answered 410 gone for now" in row.group(2)
    retried = admin.submit(path, f"{path}/deliveries/{row.group(1)}/retry", {})
    assert retried.status_code == 303 and retried.headers["location"] == f"{path}?done=retried"
    second = receiver.wait_for(2)[1]
    assert second.headers["x-telemetron-delivery"] == row.group(1)  # the same delivery, sent again
    assert ("outbox.retried", org.admin.email) in [(a, who) for a, who, _ in audit_actions(db, org.id)]
    settled(admin, path, '<td data-label="State">delivered</td>')
    refused = admin.submit(path, f"{path}/deliveries/{row.group(1)}/retry", {})
    assert refused.status_code == 400 and "only a failed delivery can be retried" in refused.text


def settled(admin, path: str, shown: str) -> str:
    """The page once it shows ``shown`` (the worker records an answer just after the receiver got it)."""
    for _ in range(100):
        page = admin.get(path).text
        if shown in page:
            return page
        time.sleep(0.1)
    raise AssertionError(f"{path} never showed {shown}")


def test_another_organizations_endpoint_and_deliveries_are_404s(admin, org, other_org, db):
    theirs = use_webhook(db, other_org.id, "https://example.com/theirs")
    mine = use_webhook(db, org.id, "https://example.com/mine")
    assert admin.get(f"{PAGE}/webhooks/{theirs['id']}").status_code == 404
    for action in (f"{PAGE}/webhooks/{theirs['id']}/test", f"{PAGE}/webhooks/{theirs['id']}/deliveries/1/retry",
                   f"{PAGE}/webhooks/{mine['id']}/deliveries/999999/retry"):
        assert admin.submit(PAGE, action, {}).status_code == 404
    assert count(db, "select count(*) from outbox where target = :t", t=theirs["id"]) == 0


def test_agents_cannot_send_tests_or_add_webhooks(agent, org, db):
    endpoint = use_webhook(db, org.id, "https://example.com/hook")
    csrf = re.search(r'name="csrf" value="([^"]+)"', agent.get("/tickets").text).group(1)
    for action in (f"{PAGE}/slack/test", f"{PAGE}/webhooks", f"{PAGE}/webhooks/{endpoint['id']}/test"):
        assert agent.post(action, data={"csrf": csrf, "url": "https://example.com/x"}).status_code == 403
    assert agent.get(f"{PAGE}/webhooks/{endpoint['id']}").status_code == 403
    assert count(db, "select count(*) from outbox where organization_id = :o", o=org.id) == 0

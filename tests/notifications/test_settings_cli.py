"""The shell's side of the settings the web app also changes: Slack's default channel, and tests
sent to Slack and to a webhook through the outbox, received by a real local server."""

from __future__ import annotations

from telemetron.notifications import webhooks
from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.notifications import use_webhook


def test_slack_channel_is_set_shown_and_used_by_a_test(cli, tenant, receiver, start_worker):
    org = ("--org", tenant.id)
    failed_readably(cli("slack", "test", *org), "Save a Slack incoming webhook URL first")
    succeeded(cli("slack", "set", *org, "--webhook-url", receiver.start().url, "--channel", "#support"))
    assert as_json(cli("slack", "show", *org, "--json"))["channel"] == "#support"
    failed_readably(cli("slack", "set", *org, "--channel", "no spaces please"), "channel takes a Slack channel")
    assert "queued as message" in succeeded(cli("slack", "test", *org))
    start_worker()
    message = receiver.wait_for(1)[0].json()
    assert message["channel"] == "#support" and message["text"].startswith("Test from Telemetron")
    succeeded(cli("slack", "set", *org, "--channel", ""))
    assert as_json(cli("slack", "show", *org, "--json"))["channel"] is None


def test_a_webhook_test_arrives_signed(cli, db, tenant, other_tenant, receiver, start_worker):
    endpoint = use_webhook(db, tenant.id, receiver.start().url)
    failed_readably(cli("webhook", "test", "--org", other_tenant.id, endpoint["id"]), "No webhook endpoint")
    succeeded(cli("webhook", "test", "--org", tenant.id, endpoint["id"]))
    start_worker()
    arrived = receiver.wait_for(1)[0]
    assert arrived.headers["x-telemetron-event"] == "webhook.test"
    assert webhooks.verify(endpoint["secret"], arrived.body, arrived.headers["x-telemetron-signature"])

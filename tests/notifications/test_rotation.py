"""Rotating a webhook's signing secret, removing an endpoint or the Slack URL: from the CLI, with
real workers delivering to real receivers (the web app's forms: tests/web/test_admin_notifications.py)."""

from __future__ import annotations

import hashlib
import hmac
import time

from telemetron.notifications.webhooks import verify
from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count
from tests.support.http import create_ticket
from tests.support.notifications import outbox_state, use_slack, use_webhook
from tests.support.receiver import Reply
from tests.support.waiting import wait_until


def single_v1_verify(secret: str, body: bytes, header: str) -> bool:
    """The README's verify before rotation overlaps existed: it reads one v1, the last."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_rotate_prints_a_new_secret_and_the_old_one_stops_at_once(http, db, tenant, receiver, start_worker, cli):
    receiver.start()
    endpoint = use_webhook(db, tenant.id, receiver.url)
    rotated = as_json(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"], "--json"))
    assert rotated["id"] == endpoint["id"] and rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != endpoint["secret"] and rotated["previousSecretExpiresAt"] is None
    start_worker()
    create_ticket(http, tenant)
    request = receiver.wait_for(1)[0]
    header = request.headers["x-telemetron-signature"]
    assert header.count("v1=") == 1
    assert verify(rotated["secret"], request.body, header)
    assert not verify(endpoint["secret"], request.body, header)
    listed = as_json(cli("webhook", "list", "--org", tenant.id, "--show-secrets", "--json"))
    assert listed[0]["secret"] == rotated["secret"]
    text = succeeded(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"]))
    assert "new signing secret: whsec_" in text and "the old secret no longer signs" in text


def test_with_an_overlap_both_secrets_sign_until_it_ends(http, db, tenant, receiver, start_worker, cli):
    receiver.start()
    endpoint = use_webhook(db, tenant.id, receiver.url)
    rotated = as_json(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"], "--overlap-hours", "24", "--json"))
    assert rotated["previousSecretExpiresAt"] is not None
    start_worker()
    create_ticket(http, tenant)
    request = receiver.wait_for(1)[0]
    header = request.headers["x-telemetron-signature"]
    assert header.count("v1=") == 2
    assert verify(rotated["secret"], request.body, header) and verify(endpoint["secret"], request.body, header)
    # A receiver not yet updated (old secret, reading one v1) keeps working during the overlap.
    assert single_v1_verify(endpoint["secret"], request.body, header)
    # Rotating again ends the oldest secret at once; the one just replaced overlaps.
    again = as_json(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"], "--overlap-hours", "1", "--json"))
    create_ticket(http, tenant, title="Second")
    second = receiver.wait_for(2)[1]
    header = second.headers["x-telemetron-signature"]
    assert verify(again["secret"], second.body, header) and verify(rotated["secret"], second.body, header)
    assert not verify(endpoint["secret"], second.body, header)


def test_an_overlap_that_has_ended_no_longer_signs(http, db, tenant, receiver, start_worker, cli):
    receiver.start()
    endpoint = use_webhook(db, tenant.id, receiver.url)
    rotated = as_json(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"], "--overlap-hours", "0.0003", "--json"))
    time.sleep(1.5)  # 0.0003 hours is about a second
    start_worker()
    create_ticket(http, tenant)
    request = receiver.wait_for(1)[0]
    assert request.headers["x-telemetron-signature"].count("v1=") == 1
    assert verify(rotated["secret"], request.body, request.headers["x-telemetron-signature"])


def test_rotate_and_remove_refuse_bad_input_readably(tenant, other_tenant, db, cli):
    endpoint = use_webhook(db, tenant.id, "http://127.0.0.1:9/hook")
    failed_readably(cli("webhook", "rotate", "--org", tenant.id, endpoint["id"], "--overlap-hours", "200"), "0 to 168 hours")
    failed_readably(cli("webhook", "rotate", "--org", other_tenant.id, endpoint["id"]), "No webhook endpoint")
    failed_readably(cli("webhook", "remove", "--org", other_tenant.id, endpoint["id"]), "No webhook endpoint")
    failed_readably(cli("webhook", "rotate", "--org", tenant.id, "whk_nope"), "No webhook endpoint")
    assert count(db, "select count(*) from webhook_endpoints where id = :e", e=endpoint["id"]) == 1


def test_removing_an_endpoint_marks_its_waiting_deliveries_failed_and_sends_nothing_more(
        http, db, tenant, receiver, start_worker, cli):
    receiver.start()
    receiver.default = Reply(status=503)  # down: the delivery waits for a retry
    endpoint = use_webhook(db, tenant.id, receiver.url)
    start_worker(outbox_retry_base_seconds=3)
    create_ticket(http, tenant)
    receiver.wait_for(1)
    wait_until(lambda: [(s, e is not None) for s, _, e in outbox_state(db, tenant.id)] == [("pending", True)])
    text = succeeded(cli("webhook", "remove", "--org", tenant.id, endpoint["id"]))
    assert "removed" in text and "1 waiting deliveries" in text
    assert outbox_state(db, tenant.id) == [("failed", 1, "the webhook endpoint was removed")]
    assert count(db, "select count(*) from webhook_endpoints where id = :e", e=endpoint["id"]) == 0
    assert as_json(cli("webhook", "list", "--org", tenant.id, "--json")) == []
    time.sleep(4)  # past the message's retry time: nothing more arrives
    assert len(receiver.requests) == 1


def test_an_event_queued_before_the_removal_is_not_sent_to_the_removed_endpoint(http, db, tenant, receiver,
                                                                              start_worker, cli):
    receiver.start()
    endpoint = use_webhook(db, tenant.id, receiver.url)
    create_ticket(http, tenant, title="Queued before removal")  # no worker yet: the event waits
    succeeded(cli("webhook", "remove", "--org", tenant.id, endpoint["id"]))
    start_worker()
    wait_until(lambda: outbox_state(db, tenant.id) == [("failed", 1, "the webhook endpoint no longer exists")])
    assert receiver.requests == []


def test_slack_url_replaced_then_removed(http, db, tenant, receiver, start_worker, cli):
    receiver.start()
    use_slack(db, tenant.id, receiver.url + "/old")
    succeeded(cli("slack", "set", "--org", tenant.id, "--webhook-url", receiver.url + "/new"))
    start_worker()
    create_ticket(http, tenant)
    assert receiver.wait_for(1)[0].path == "/hook/new"
    receiver.default = Reply(status=500)
    create_ticket(http, tenant, title="Will wait")
    receiver.wait_for(2)
    # Settled, waiting for its retry (not claimed: the 500 is recorded).
    wait_until(lambda: [(s, e is not None) for s, _, e in outbox_state(db, tenant.id)] == [("delivered", False), ("pending", True)])
    text = succeeded(cli("slack", "remove", "--org", tenant.id))
    assert "1 waiting Slack messages marked failed" in text
    assert outbox_state(db, tenant.id)[-1][::2] == ("failed", "the Slack webhook URL was removed")
    assert "not set" in succeeded(cli("slack", "show", "--org", tenant.id))
    create_ticket(http, tenant, title="After removal")  # no destination left: nothing is queued
    assert count(db, "select count(*) from outbox where organization_id = :o and channel = 'event' "
                     "and status = 'pending'", o=tenant.id) == 0


def test_the_readme_and_example_receivers_accept_either_signature_of_an_overlap():
    """The verify a receiver copies from the README (and examples/receiver.py) takes two v1."""
    import pathlib
    import re
    import runpy

    from telemetron.notifications.webhooks import sign

    root = pathlib.Path(__file__).resolve().parents[2]
    snippet = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", (root / "README.md").read_text(), re.DOTALL).group(1)
    readme_ns: dict = {}
    exec(snippet, readme_ns)  # noqa: S102 - the README's own code, as a reader would paste it
    example_verify = runpy.run_path(str(root / "examples/receiver.py"))["verify"]
    body = b'{"event": "ticket.created"}'
    header = sign("whsec_new", body, previous="whsec_old")
    for check in (readme_ns["verify"], example_verify, verify):
        assert check("whsec_new", body, header) and check("whsec_old", body, header)
        assert not check("whsec_other", body, header)
        assert check("whsec_new", body, sign("whsec_new", body)) and not check("whsec_old", body, sign("whsec_new", body))

"""The admins' notifications page: the Slack URL replaced and removed, a webhook's secret rotated
(shown once) and an endpoint removed, through the real server, with the CLI's services."""

from __future__ import annotations

import re

from tests.support.databases import count
from tests.support.notifications import use_slack, use_webhook

PAGE = "/admin/notifications"


def test_admin_replaces_then_removes_the_slack_url(admin, org, db):
    use_slack(db, org.id, "https://hooks.slack.com/services/T0/B0/oldsecretold")
    response = admin.submit(PAGE, f"{PAGE}/slack", {"webhook_url": "https://hooks.slack.com/services/T0/B0/newsecretnew"})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Slack settings saved" in page.text and "newsecretnew" not in page.text and "…tnew" in page.text
    assert count(db, "select count(*) from notification_settings where organization_id = :o "
                     "and slack_webhook_url like '%newsecretnew'", o=org.id) == 1
    response = admin.submit(PAGE, f"{PAGE}/slack", {"webhook_url": "ftp://nope"})
    assert response.status_code == 400 and "must be an http(s) URL" in response.text
    response = admin.submit(PAGE, f"{PAGE}/slack/remove", {})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Slack webhook removed" in page.text and 'id="slack-remove"' not in page.text
    assert count(db, "select count(*) from notification_settings where organization_id = :o "
                     "and slack_webhook_url is null", o=org.id) == 1


def test_admin_rotates_a_secret_seen_once_and_removes_the_endpoint(admin, org, other_org, db):
    endpoint = use_webhook(db, org.id, "https://example.com/hooks/telemetron")
    rotate = f"{PAGE}/webhooks/{endpoint['id']}/rotate"
    response = admin.submit(PAGE, rotate, {"overlap_hours": "24"})
    assert response.status_code == 200
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', response.text).group(1)
    assert "The old secret also signs every delivery until" in response.text
    stored = db.run_sync(lambda conn: conn.exec_driver_sql(
        f"select secret, previous_secret from webhook_endpoints where id = '{endpoint['id']}'").one())
    assert tuple(stored) == (secret, endpoint["secret"])
    assert secret not in admin.get(PAGE).text  # shown once
    for bad in ("999", "soon"):
        refused = admin.submit(PAGE, rotate, {"overlap_hours": bad})
        assert refused.status_code == 400 and "The overlap is 0 to 168 hours" in refused.text
    # Another organization's endpoint is a 404, and nothing changes.
    theirs = use_webhook(db, other_org.id, "https://example.com/theirs")
    assert admin.submit(PAGE, f"{PAGE}/webhooks/{theirs['id']}/remove", {}).status_code == 404
    assert admin.submit(PAGE, f"{PAGE}/webhooks/{theirs['id']}/rotate", {}).status_code == 404
    response = admin.submit(PAGE, f"{PAGE}/webhooks/{endpoint['id']}/remove", {})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Webhook endpoint removed" in page.text and "example.com/hooks/telemetron" not in page.text
    assert count(db, "select count(*) from webhook_endpoints where organization_id = :o", o=org.id) == 0
    assert count(db, "select count(*) from webhook_endpoints where organization_id = :o", o=other_org.id) == 1


def test_an_agent_cannot_change_notifications(agent, org, db):
    endpoint = use_webhook(db, org.id, "https://example.com/hook")
    csrf = re.search(r'name="csrf" value="([^"]+)"', agent.get("/tickets").text).group(1)
    for action in (f"{PAGE}/slack/remove", f"{PAGE}/webhooks/{endpoint['id']}/rotate",
                   f"{PAGE}/webhooks/{endpoint['id']}/remove"):
        assert agent.post(action, data={"csrf": csrf}).status_code == 403
    assert count(db, "select count(*) from webhook_endpoints where secret = :s", s=endpoint["secret"]) == 1

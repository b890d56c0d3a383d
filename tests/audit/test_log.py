"""The audit log: what admins, members, the shell and sign-in attempts leave in it, read with
``telemetron audit list`` and on the admins' page; scoped to its organization; never a secret."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from telemetron.audit import Actor, list_events
from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from tests.support.cli import as_json, succeeded
from tests.support.web import PASSWORD, Browser, client_address, make_web_org

SLACK = "https://hooks.slack.com/services/T000/B000/auditsecretslackpart"
NEW_PASSWORD = "violet kettle marathon"


def events(cli, org_id: str) -> list[dict]:
    return as_json(cli("audit", "list", "--org", org_id, "--json"))


def find(log: list[dict], action: str) -> list[dict]:
    return [e for e in log if e["action"] == action]


def test_admin_changes_and_sign_ins_are_logged_with_who_and_from_where(db, live_server, cli):
    org = make_web_org(db)
    address = client_address()
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": address}) as admin, \
            Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": address}) as guest:
        assert guest.sign_in(org.agent.email, "not the password").status_code == 401
        assert admin.sign_in(org.admin.email).status_code == 303
        admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"role": "admin"})
        admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"password": NEW_PASSWORD})
        page = admin.submit("/admin/api-keys", "/admin/api-keys", {"name": "zapier", "once": "x1"})
        key = re.search(r"tlm_[A-Za-z0-9_-]+", page.text).group(0)
        key_id = db.run_sync(lambda conn: conn.execute(text(
            "select id from api_keys where organization_id = :o and name = 'zapier'"), {"o": org.id}).scalar_one())
        admin.submit("/admin/api-keys", f"/admin/api-keys/{key_id}/revoke", {})
        admin.submit("/admin/categories", "/admin/categories", {"name": "Returns", "description": "Sending back"})
        log = events(cli, org.id)
        page = admin.get("/admin/audit")
    assert page.status_code == 200 and "Audit log" in page.text and 'href="/admin/audit"' in page.text

    failed, = find(log, "signin.failed")
    assert failed["actor"]["label"] == org.agent.email and failed["clientAddress"] == address
    succeeded_ = find(log, "signin.succeeded")[0]
    assert succeeded_["actor"] == {"kind": "member", "id": org.admin.id, "label": org.admin.email}
    role, = find(log, "member.role_changed")
    assert role["details"] == {"memberId": org.agent.id, "email": org.agent.email, "from": "agent", "to": "admin"}
    assert role["actor"]["label"] == org.admin.email and role["clientAddress"] == address
    assert find(log, "member.password_set")[0]["details"]["email"] == org.agent.email
    created = find(log, "api_key.created")[0]
    assert created["details"] == {"apiKeyId": key_id, "name": "zapier", "prefix": key[:12]}
    assert find(log, "api_key.revoked")[0]["details"] == {"apiKeyId": key_id}
    assert find(log, "category.added")[0]["details"]["name"] == "Returns"
    assert log[0]["action"] == "category.added"  # newest first
    for event in (role, failed):
        assert event["action"] in page.text.replace("&#34;", '"')
    assert key not in str(log)


def test_shell_changes_are_logged_as_the_shell_and_secrets_stay_out(db, cli, tenant):
    org = ("--org", tenant.id)
    succeeded(cli("slack", "set", *org, "--webhook-url", SLACK, "--public-url", "https://help.example.com"))
    webhook = succeeded(cli("webhook", "add", *org, "https://example.com/hooks/x", "--json"))
    rule = as_json(cli("rules", "add", *org, "Billing", "--category", "Billing", "--tag", "money", "--json"))
    succeeded(cli("rules", "disable", *org, rule["id"]))
    succeeded(cli("slack", "set", *org, "--webhook-url", ""))
    key = as_json(cli("apikey", "create", *org, "--name", "ci", "--json"))
    log = events(cli, tenant.id)
    actions = [e["action"] for e in log]
    for action in ("notifications.settings_changed", "webhook.added", "routing_rule.added", "routing_rule.removed",
                   "api_key.created"):
        assert action in actions, (action, actions)
    by_shell = [e for e in log if e["actor"]["kind"] != "system"]  # (the fixture made the tenant "system")
    assert len(by_shell) == 6
    assert all(e["actor"]["kind"] == "cli" and e["actor"]["label"].startswith("shell") for e in by_shell)
    slack = find(log, "notifications.settings_changed")
    assert [e["details"].get("slack") for e in slack] == ["removed", "set"]
    stored = str(db.run_sync(lambda conn: conn.execute(text("select * from audit_events")).fetchall()))
    secret = re.search(r'"secret": "([^"]+)"', webhook).group(1)
    for value in (SLACK, "auditsecretslackpart", secret, key["apiKey"], key["apiKey"][12:]):
        assert value not in stored, value
    readable = succeeded(cli("audit", "list", *org))
    assert "routing_rule.added" in readable and "shell" in readable


def test_a_secret_named_detail_is_never_stored(db, tenant):
    def unit(conn):
        from telemetron.audit import record

        record(conn, tenant.id, Actor.cli(), "test.secrets", {
            "password": PASSWORD, "newPassword": NEW_PASSWORD, "signingSecret": "value-of-s3cr3t", "token": "value-of-tok",
            "key_hash": "value-of-hash", "slackWebhookUrl": SLACK, "nested": {"apiKey": "value-of-key"}, "name": "kept"})
    db.run_sync(unit)
    stored = str(db.run_sync(lambda conn: conn.execute(
        text("select details from audit_events where organization_id = :o"), {"o": tenant.id}).fetchall()))
    for value in (PASSWORD, NEW_PASSWORD, "value-of", SLACK):
        assert value not in stored
    assert "kept" in stored and "[redacted]" in stored


def test_an_event_is_written_with_its_change_or_not_at_all(db, tenant):
    def unit(conn):
        add_category(Scoped(db, conn, tenant.id, Actor.cli()), name="Doomed")
        raise RuntimeError("the change fails after the event")

    with pytest.raises(RuntimeError):
        db.run_sync(unit)
    log = db.run_sync(lambda conn: list_events(Scoped(db, conn, tenant.id)))
    assert not [e for e in log if e["details"].get("name") == "Doomed"]


def test_each_organization_sees_only_its_own_log(db, live_server, cli):
    mine, theirs = make_web_org(db), make_web_org(db)
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as c:
        assert c.sign_in(theirs.admin.email).status_code == 303
        c.submit("/admin/members", f"/admin/members/{theirs.agent.id}", {"role": "admin"})
    assert find(events(cli, theirs.id), "member.role_changed")
    assert not find(events(cli, mine.id), "member.role_changed")
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as c:
        assert c.sign_in(mine.admin.email).status_code == 303
        assert theirs.agent.email not in c.get("/admin/audit").text
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as c:
        assert c.sign_in(mine.agent.email).status_code == 303
        assert c.get("/admin/audit").status_code == 403


def test_a_lockout_is_logged_and_the_page_takes_any_page_number(db, live_server, cli):
    org = make_web_org(db)
    with Browser(base_url=live_server.url, follow_redirects=False, headers={"X-Forwarded-For": client_address()}) as c:
        for _ in range(5):
            assert c.sign_in(org.agent.email, "not the password").status_code == 401
        locked, = find(events(cli, org.id), "signin.locked")
        assert locked["details"] == {"email": org.agent.email, "memberId": org.agent.id, "attempts": 5,
                                     "lockedForSeconds": 30}
        assert c.sign_in(org.admin.email).status_code == 303
        for before in ("99999999999999999", "0", "abc"):
            assert c.get(f"/admin/audit?before={before}").status_code == 200


def test_secret_rotation_removals_mailboxes_and_rate_limits_are_logged_without_their_secrets(db, cli, tenant,
                                                                                            monkeypatch):
    monkeypatch.setenv("TELEMETRON_SECRET_KEY", "tests-only-secret-key")
    org = ("--org", tenant.id)
    webhook = as_json(cli("webhook", "add", *org, "https://example.com/hooks/y", "--json"))
    rotated = as_json(cli("webhook", "rotate", *org, webhook["id"], "--json"))
    succeeded(cli("webhook", "remove", *org, webhook["id"]))
    succeeded(cli("org", "rate-limit", *org, "20/second"))
    mailbox = as_json(cli("mailbox", "add", *org, "help@acme.example", "--smtp-url",
                          "smtp://bot:mailpassword99@127.0.0.1:2525", "--json"))
    succeeded(cli("mailbox", "remove", *org, mailbox["id"]))
    log = events(cli, tenant.id)
    assert find(log, "webhook.secret_rotated")[0]["details"]["webhookId"] == webhook["id"]
    assert find(log, "webhook.removed")[0]["details"]["webhookId"] == webhook["id"]
    assert find(log, "organization.rate_limit_changed")[0]["details"]["rateLimit"] == "20/second"
    assert [e["details"]["address"] for e in find(log, "mailbox.added") + find(log, "mailbox.removed")] == [
        "help@acme.example", "help@acme.example"]
    stored = str(db.run_sync(lambda conn: conn.execute(text("select * from audit_events")).fetchall()))
    for value in (webhook["secret"], rotated["secret"], "mailpassword99", mailbox["inboundSecret"]):
        assert value not in stored, value

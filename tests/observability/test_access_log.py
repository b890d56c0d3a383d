"""The access log: one JSON line per request, and never a secret in any line the server writes."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from telemetron.web.pages import SESSION_COOKIE
from tests.support.tenants import make_tenant
from tests.support.web import PASSWORD, Browser, add_person

CREATE = "/api/ext-v1/ticket/createTicket"


def _access_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "request_id" in record:
                lines.append(record)
    return lines


def _wait_for_lines(path, count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:
        lines = _access_lines(path.read_text())
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_one_line_per_request_and_no_secret_in_any_log_line(db, spawn_server, cli, tmp_path):
    """A sign-in (a wrong password, then the right one), pages with the session, API calls with a key,
    Slack and webhook settings with deliveries failing: the secrets of each appear in no line."""
    tenant = make_tenant(db)
    admin = add_person(db, tenant.id, role="admin")
    slack_secret = f"slack{uuid.uuid4().hex}"
    assert cli("slack", "set", "--org", tenant.id, "--webhook-url",
               f"http://127.0.0.1:9/services/T0/B0/{slack_secret}").exit_code == 0
    added = cli("webhook", "add", "--org", tenant.id, "http://127.0.0.1:9/hook", "--json")
    assert added.exit_code == 0, added.output
    webhook_secret = json.loads(added.output)["secret"]
    log = tmp_path / "server.log"
    server = spawn_server(output=log, TELEMETRON_RUN_WORKER="true", TELEMETRON_LOG_LEVEL="debug",
                          TELEMETRON_OUTBOX_RETRY_BASE_SECONDS="0.1")

    with Browser(base_url=server.url, timeout=30, follow_redirects=False) as browser:
        assert browser.sign_in(admin.email, "not-the-password-123").status_code != 303
        assert browser.sign_in(admin.email).status_code == 303
        session_token = browser.cookies[SESSION_COOKIE]
        assert browser.get("/tickets").status_code == 200
    with httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post(CREATE, headers=tenant.headers, json={"title": "Hub offline",
                                                                    "customerEmail": "ann@example.com"})
        assert created.status_code == 200
        ticket_id = created.json()["ticketId"]
        assert client.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}",
                          headers={"authorization": f"Bearer {tenant.api_key}"}).status_code == 200
        assert client.post(CREATE, headers={"x-api-key": "tlm_" + uuid.uuid4().hex}, json={}).status_code == 401
    time.sleep(1.5)  # the worker tries (and fails) the Slack and webhook deliveries

    text = log.read_text()
    for secret in (tenant.api_key, PASSWORD, "not-the-password-123", session_token, webhook_secret, slack_secret):
        assert secret not in text, f"a secret reached the log: {secret[:6]}..."

    lines = _wait_for_lines(log, 7)
    by_route = {(line["method"], line["route"], line["status"]): line for line in lines}
    api = by_route[("POST", CREATE, 200)]
    assert api["organization_id"] == tenant.id
    assert by_route[("GET", "/api/ext-v1/ticket/getTicket/{ticketId}", 200)]["organization_id"] == tenant.id
    assert by_route[("POST", CREATE, 401)]["organization_id"] is None
    assert by_route[("GET", "/tickets", 200)]["organization_id"] == tenant.id
    assert ("POST", "/signin", 303) in by_route and ("GET", "/signin", 200) in by_route
    assert created.headers["x-request-id"] == api["request_id"]
    assert api["client"] == "127.0.0.1" and api["duration_ms"] > 0 and api["ts"].endswith("+00:00")
    assert set(api) == {"ts", "request_id", "organization_id", "method", "route", "status", "duration_ms", "client"}


def test_the_access_log_can_be_turned_off(db, spawn_server, tmp_path):
    tenant = make_tenant(db)
    log = tmp_path / "server.log"
    server = spawn_server(output=log, TELEMETRON_ACCESS_LOG="false")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post(CREATE, headers=tenant.headers, json={"title": "x", "customerEmail": "a@example.com"}
                           ).status_code == 200
    time.sleep(0.5)
    assert _access_lines(log.read_text()) == []

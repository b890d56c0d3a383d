"""``telemetron export`` and ``telemetron import``: an organization built through the API and the
CLI, exported, imported into a fresh database of each kind, exported again: the same lines; no
secret in the file; the imported organization works (a new message, a new ticket)."""

from __future__ import annotations

import json

import httpx
import pytest

from telemetron.config import Settings
from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.members.service import set_password_hash
from telemetron.orgs.apikeys import create_api_key
from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count
from tests.support.http import ok, post
from tests.support.notifications import use_slack, use_webhook
from tests.support.servers import LiveServer
from tests.support.web import password_hash

API = "/api/ext-v1"


def build_organization(http, tenant, cli, db) -> dict:
    """A bit of everything an export holds, made as users make it."""
    member = as_json(cli("member", "add", "--org", tenant.id, "ann@example.com", "--name", "Ann", "--json"))
    db.run_sync(lambda conn: set_password_hash(Scoped(db, conn, tenant.id), member["id"], password_hash()))
    succeeded(cli("team", "add", "--org", tenant.id, "Support", "--member", member["id"]))
    succeeded(cli("rules", "add", "--org", tenant.id, "WiFi to Ann", "--category", "Connectivity", "--keyword",
                  "wifi", "--assign-member", member["id"], "--tag", "network"))
    succeeded(cli("category", "update", "--org", tenant.id, "Battery", "--example", "won't charge"))
    ok(post(http, f"{API}/device", tenant, {"identifier": "SN-1", "type": "Hub", "properties": {"fw": "2.3.1"}}))
    ok(post(http, f"{API}/deviceAssignment/assignDeviceToOwners", tenant,
            {"deviceIdentifier": "SN-1", "customerEmails": ["bob@example.com", "eve@example.com"]}))
    ok(post(http, f"{API}/customer/createOrUpdateCustomer", tenant,
            {"email": "carl@example.com", "name": "Carl Ünïcode", "phone": "+33 1 23", "metadata": {"plan": "pro"}}))
    tickets = []
    for title in ("WiFi drops every hour", "Bill too high", "Nothing matches"):
        body = {"title": title, "customerEmail": "bob@example.com", "priority": "high",
                "messages": [{"role": "customer", "content": f"{title}, since Monday"}, {"role": "bot", "content": "On it"}]}
        tickets.append(ok(post(http, f"{API}/ticket/createTicket", tenant, body))["ticketId"])
    ok(post(http, f"{API}/ticket/addMessage", tenant, {"ticketId": tickets[0], "role": "agent", "content": "Reboot it"}))
    ok(post(http, f"{API}/ticket/updateTicket", tenant, {"ticketId": tickets[1], "status": "resolved"}))
    use_slack(db, tenant.id, "https://hooks.slack.com/services/T0/B0/slacksecretslack")
    webhook = use_webhook(db, tenant.id, "https://example.com/hooks/private-path")
    return {"tickets": tickets, "webhook_secret": webhook["secret"]}


def export_lines(cli, org_id: str, url: str | None = None, monkeypatch=None) -> list[str]:
    if url is not None:
        monkeypatch.setenv("TELEMETRON_DATABASE_URL", url)
    return succeeded(cli("export", "--org", org_id)).splitlines()


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_export_import_export_gives_the_same_lines(http, db, tenant, cli, fresh_database, tmp_path, monkeypatch, target):
    made = build_organization(http, tenant, cli, db)
    first = export_lines(cli, tenant.id)
    text = "\n".join(first)
    for secret in (tenant.api_key, made["webhook_secret"], "slacksecretslack", "private-path", "scrypt"):
        assert secret not in text
    with db.engine.connect() as conn:
        key_hash = conn.exec_driver_sql(f"select key_hash from api_keys where organization_id = '{tenant.id}'").scalar()
    assert key_hash not in text
    header = json.loads(first[0])
    assert header["kind"] == "telemetron-export" and "webhook_endpoints" in header["notExported"]
    kinds = [json.loads(line)["kind"] for line in first[1:]]
    for kind, n in {"organization": 1, "category": 3, "member": 1, "team": 1, "team_member": 1, "routing_rule": 1,
                    "customer": 3, "device": 1, "device_assignment": 2, "ticket": 3, "message": 7,
                    "notification_settings": 1}.items():
        assert kinds.count(kind) == n, (kind, kinds.count(kind))

    path = tmp_path / "org.jsonl"
    succeeded(cli("export", "--org", tenant.id, "--output", str(path)))
    target_url = fresh_database(target)
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", target_url)
    get_out = succeeded(cli("import", str(path)))
    assert f"imported organization {tenant.id}" in get_out and "3 ticket" in get_out and "7 message" in get_out
    again = export_lines(cli, tenant.id)
    assert again[1:] == first[1:]  # every row, every field, the same ids
    failed_readably(cli("import", str(path)), "already in this database")

    target_db = Database(target_url, pool_size=2)
    try:
        assert count(target_db, "select count(*) from api_keys") == 0
        assert count(target_db, "select count(*) from members where password_hash is not null") == 0
        assert count(target_db, "select count(*) from notification_settings where slack_webhook_url is not null") == 0
        works_after_import(target_db, tenant.id, made["tickets"][0])
    finally:
        target_db.dispose()


def works_after_import(target_db: Database, org_id: str, ticket_id: str) -> None:
    """A new key, a message on an imported ticket (new ids past the imported ones) and a new ticket."""
    key = target_db.run_sync(lambda conn: create_api_key(conn, org_id=org_id, name="after import"))
    server = LiveServer(Settings(database_url=target_db.url, run_worker=False)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers={"x-api-key": key.key}) as client:
            response = client.post(f"{API}/ticket/addMessage", json={"ticketId": ticket_id, "role": "customer",
                                                                  "content": "Still broken"})
            assert response.status_code == 200, response.text
            ticket = client.get(f"{API}/ticket/getTicket/{ticket_id}").json()["ticket"]
            assert [m["content"] for m in ticket["messages"]][-2:] == ["Reboot it", "Still broken"]
            # The imported tickets are in the search index: a word of an imported message finds its ticket.
            found = client.post(f"{API}/ticket/queryTickets", json={"q": "reboot"}).json()["tickets"]
            assert [t["id"] for t in found] == [ticket_id]
            created = client.post(f"{API}/ticket/createTicket", json={
                "title": "WiFi again", "customerEmail": "bob@example.com", "category": "Connectivity"})
            assert created.status_code == 200, created.text
            assert created.json()["assignee"]["name"] == "Ann"  # the imported rule routed it
            new = client.get(f"{API}/ticket/getTicket/{created.json()['ticketId']}").json()["ticket"]
            assert new["number"] == 4  # numbered on after the three imported tickets
    finally:
        server.stop()


def test_import_refuses_a_bad_file_line_by_line_and_imports_nothing(db, tenant, cli, fresh_database, tmp_path,
                                                                    monkeypatch):
    lines = export_lines(cli, tenant.id)
    target_url = fresh_database("sqlite")
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", target_url)
    cases = {
        "not-an-export": (["{}"], "line 1: this is not a Telemetron export"),
        "broken-json": (lines[:3] + ["{oops"], "line 4: not JSON"),
        "unknown-field": (lines[:2] + [json.dumps({"kind": "category", "data": {"id": "cat_x", "colour": "red"}})],
                          "line 3: unknown field(s) for category: colour"),
        "other-org": (lines[:2] + [lines[2].replace(tenant.id, "org_000000000000")],
                      "line 3: organization_id is not the organization's"),
        "no-org-first": ([lines[0], lines[2]], "line 2: the organization must come first"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(content) + "\n")
        failed_readably(cli("import", str(path)), message)
    target = Database(target_url, pool_size=1)
    try:
        assert count(target, "select count(*) from organizations") == 0
        assert count(target, "select count(*) from categories") == 0
    finally:
        target.dispose()


def test_export_of_an_unknown_organization_is_a_readable_error(cli):
    failed_readably(cli("export", "--org", "org_nope"), "No organization org_nope")

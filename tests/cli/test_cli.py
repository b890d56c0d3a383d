"""The ``telemetron`` command, driven in-process, against the same database as the live server.

What an operator does with it (organizations, keys, categories) is checked over HTTP where it
matters: a key the CLI printed must work, a key it revoked must stop working at once.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count

PATH = "/api/ext-v1/ticket/createTicket"


# --- helpers -----------------------------------------------------------------------------------


def create_org(cli, *categories: str) -> dict:
    args = ["org", "create", f"CLI Org {uuid.uuid4().hex[:8]}"]
    for category in categories:
        args += ["--category", category]
    return as_json(cli(*args, "--json"))


def create_ticket(http, api_key: str, **fields):
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com", **fields}
    return http.post(PATH, json=body, headers={"x-api-key": api_key})


def assert_key_works(http, api_key: str) -> dict:
    response = create_ticket(http, api_key)
    assert response.status_code == 200, response.text
    return response.json()


def assert_key_refused(http, api_key: str) -> None:
    response = create_ticket(http, api_key)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_api_key"


# --- organizations ------------------------------------------------------------------------------


def test_db_upgrade_says_what_it_did(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from telemetron.cli import app as cli_app
    from telemetron.config import get_settings

    monkeypatch.setenv("TELEMETRON_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli_app, ["db", "upgrade", "0008"]).stdout.startswith("database created (schema revision 0008)")
        assert runner.invoke(cli_app, ["db", "upgrade"]).stdout.startswith("database migrated from revision 0008 to ")
        assert runner.invoke(cli_app, ["db", "upgrade"]).stdout.startswith("database is up to date (schema revision ")
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("args", [
    ["org", "create", "Acme"], ["demo"], ["apikey", "list", "--org", "org_x"],
    ["triage", "train", "--org", "org_x"], ["triage", "status", "--org", "org_x"],
])
def test_a_command_on_a_database_never_created_says_to_run_db_upgrade(tmp_path, monkeypatch, args):
    from typer.testing import CliRunner

    from telemetron.cli import app as cli_app
    from telemetron.config import get_settings

    monkeypatch.setenv("TELEMETRON_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    get_settings.cache_clear()
    try:
        failed_readably(CliRunner().invoke(cli_app, args), "empty database", "telemetron db upgrade")
    finally:
        get_settings.cache_clear()


def test_a_database_migrated_by_a_newer_version_is_not_sent_to_db_upgrade(tmp_path, monkeypatch):
    import sqlite3

    from typer.testing import CliRunner

    from telemetron.cli import app as cli_app
    from telemetron.config import get_settings

    path = tmp_path / "newer.db"
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0099'")
        message = failed_readably(runner.invoke(cli_app, ["serve"]), "0099", "does not know", "newer version")
        assert "db upgrade" not in message
    finally:
        get_settings.cache_clear()


def test_org_create_prints_an_id_and_a_working_key(cli, http, db):
    org = create_org(cli, "Connectivity", "Billing")
    assert org["organizationId"].startswith("org_")
    assert org["apiKey"].startswith("tlm_")
    assert org["categories"] == ["Connectivity", "Billing"]

    ticket = assert_key_works(http, org["apiKey"])
    assert count(db, "select count(*) from tickets where id = :t and organization_id = :o", t=ticket["ticketId"], o=org["organizationId"]) == 1
    # The categories given on the command line are the organization's.
    categorized = create_ticket(http, org["apiKey"], category="billing").json()
    assert categorized["category"] == "Billing"
    assert categorized["categorySource"] == "provided"


def test_org_create_without_json_shows_the_key_once(cli):
    name = f"CLI Org {uuid.uuid4().hex[:8]}"
    out = succeeded(cli("org", "create", name))
    assert name in out
    assert "tlm_" in out
    assert "org_" in out


def test_org_list_shows_the_new_organization(cli):
    org = create_org(cli)
    listed = as_json(cli("org", "list", "--json"))
    assert {"id": org["organizationId"], "name": org["name"]} in listed


# --- API keys -----------------------------------------------------------------------------------


def test_apikey_create_gives_a_second_working_key(cli, http):
    org = create_org(cli)
    second = as_json(cli("apikey", "create", "--org", org["organizationId"], "--name", "zapier", "--json"))
    assert second["apiKey"].startswith("tlm_")
    assert second["apiKey"] != org["apiKey"]
    assert second["id"] != org["apiKeyId"]
    assert second["name"] == "zapier"
    first_ticket = assert_key_works(http, org["apiKey"])
    second_ticket = assert_key_works(http, second["apiKey"])
    # Both keys are the same organization: the second ticket reuses the first one's customer.
    assert second_ticket["customerId"] == first_ticket["customerId"]


def test_apikey_list_shows_ids_names_and_prefixes_never_the_keys(cli):
    org = create_org(cli)
    second = as_json(cli("apikey", "create", "--org", org["organizationId"], "--name", "zapier", "--json"))

    result = cli("apikey", "list", "--org", org["organizationId"], "--json")
    listed = as_json(result)
    assert {k["id"] for k in listed} == {org["apiKeyId"], second["id"]}
    by_id = {k["id"]: k for k in listed}
    assert by_id[second["id"]]["name"] == "zapier"
    for key_id, plaintext in ((org["apiKeyId"], org["apiKey"]), (second["id"], second["apiKey"])):
        prefix = by_id[key_id]["prefix"]
        assert prefix.startswith("tlm_")
        assert plaintext.startswith(prefix)
        assert len(prefix) < len(plaintext) // 2
        assert plaintext not in result.output
    # Nor in the human-readable listing.
    text = succeeded(cli("apikey", "list", "--org", org["organizationId"]))
    assert org["apiKey"] not in text and second["apiKey"] not in text
    assert org["apiKeyId"] in text and second["id"] in text


def test_apikey_revoke_refuses_the_key_at_once(cli, http):
    org = create_org(cli)
    second = as_json(cli("apikey", "create", "--org", org["organizationId"], "--json"))
    assert_key_works(http, org["apiKey"])

    out = succeeded(cli("apikey", "revoke", "--org", org["organizationId"], org["apiKeyId"]))
    assert org["apiKeyId"] in out

    assert_key_refused(http, org["apiKey"])
    assert_key_works(http, second["apiKey"])
    listed = {k["id"]: k for k in as_json(cli("apikey", "list", "--org", org["organizationId"], "--json"))}
    assert listed[org["apiKeyId"]]["revokedAt"] is not None
    assert listed[second["id"]]["revokedAt"] is None


def test_apikey_revoke_of_an_unknown_key_fails_readably(cli):
    org = create_org(cli)
    failed_readably(cli("apikey", "revoke", "--org", org["organizationId"], "key_doesnotexist"), "key_doesnotexist")


def test_apikey_revoke_twice_fails_readably(cli):
    org = create_org(cli)
    succeeded(cli("apikey", "revoke", "--org", org["organizationId"], org["apiKeyId"]))
    failed_readably(cli("apikey", "revoke", "--org", org["organizationId"], org["apiKeyId"]), org["apiKeyId"])


def test_apikey_revoke_of_another_organizations_key_fails_and_the_key_keeps_working(cli, http):
    mine = create_org(cli)
    theirs = create_org(cli)
    failed_readably(cli("apikey", "revoke", "--org", mine["organizationId"], theirs["apiKeyId"]), theirs["apiKeyId"])
    assert_key_works(http, theirs["apiKey"])


def test_the_database_stores_only_hashes_of_keys(cli, db):
    org = create_org(cli)
    second = as_json(cli("apikey", "create", "--org", org["organizationId"], "--json"))
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"select * from api_keys where organization_id = '{org['organizationId']}'"
        ).all()
    assert len(rows) == 2
    for plaintext in (org["apiKey"], second["apiKey"]):
        for row in rows:
            for value in row:
                assert value != plaintext
                assert plaintext not in str(value)


# --- categories ---------------------------------------------------------------------------------


def test_category_add_then_list_shows_it(cli):
    org = create_org(cli, "Billing")
    added = as_json(
        cli("category", "add", "--org", org["organizationId"], "Firmware", "--description", "Updates and flashing", "--json")
    )
    assert added["name"] == "Firmware"
    listed = as_json(cli("category", "list", "--org", org["organizationId"], "--json"))
    by_name = {c["name"]: c for c in listed}
    assert set(by_name) == {"Billing", "Firmware"}
    assert by_name["Firmware"]["id"] == added["id"]
    assert by_name["Firmware"]["description"] == "Updates and flashing"
    assert by_name["Firmware"]["active"] is True


def test_added_category_is_matched_by_the_api(cli, http):
    org = create_org(cli)
    succeeded(cli("category", "add", "--org", org["organizationId"], "Firmware"))
    ticket = create_ticket(http, org["apiKey"], category=" FIRMWARE ").json()
    assert ticket["category"] == "Firmware"
    assert ticket["categorySource"] == "provided"


def test_inactive_category_added_by_the_cli_is_not_matched(cli, http):
    org = create_org(cli)
    succeeded(cli("category", "add", "--org", org["organizationId"], "Legacy", "--inactive"))
    listed = {c["name"]: c for c in as_json(cli("category", "list", "--org", org["organizationId"], "--json"))}
    assert listed["Legacy"]["active"] is False
    ticket = create_ticket(http, org["apiKey"], category="Legacy").json()
    assert ticket["category"] is None


def test_duplicate_category_in_another_case_fails_readably(cli, db):
    org = create_org(cli, "Billing")
    failed_readably(cli("category", "add", "--org", org["organizationId"], "  BILLING "), "already exists")
    assert count(db, "select count(*) from categories where organization_id = :o", o=org["organizationId"]) == 1


def test_same_category_name_in_two_organizations_is_fine(cli):
    one = create_org(cli, "Billing")
    two = create_org(cli)
    succeeded(cli("category", "add", "--org", two["organizationId"], "Billing"))
    assert [c["name"] for c in as_json(cli("category", "list", "--org", one["organizationId"], "--json"))] == ["Billing"]
    assert [c["name"] for c in as_json(cli("category", "list", "--org", two["organizationId"], "--json"))] == ["Billing"]


# --- unknown organization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["apikey", "create", "--json"],
        ["apikey", "list", "--json"],
        ["apikey", "revoke", "key_whatever"],
        ["category", "add", "Firmware"],
        ["category", "list", "--json"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_unknown_org_fails_readably(cli, db, args):
    org_id = "org_" + uuid.uuid4().hex[:12]
    failed_readably(cli(*args, "--org", org_id), org_id, "not found")
    assert count(db, "select count(*) from api_keys where organization_id = :o", o=org_id) == 0
    assert count(db, "select count(*) from categories where organization_id = :o", o=org_id) == 0


# --- bad organization input ---------------------------------------------------------------------


def test_org_create_with_a_duplicate_category_fails_and_creates_nothing(cli, db):
    name = f"CLI Org {uuid.uuid4().hex[:8]}"
    failed_readably(cli("org", "create", name, "--category", "Billing", "--category", "billing"), "already exists")
    assert count(db, "select count(*) from organizations where name = :n", n=name) == 0


def test_org_create_with_a_blank_name_fails_readably(cli):
    failed_readably(cli("org", "create", "   "), "name")


@pytest.mark.parametrize("what", ["org", "apikey"])
def test_a_name_over_255_characters_is_handled(cli, db, request, what):
    """Either created (SQLite does not enforce VARCHAR lengths) or refused readably: never a traceback."""
    if what == "org":
        result = cli("org", "create", "x" * 300, "--json")
    else:
        org = create_org(cli)
        result = cli("apikey", "create", "--org", org["organizationId"], "--name", "x" * 300, "--json")
    if result.exit_code != 0:
        failed_readably(result, "name")


def test_serve_refuses_several_processes_on_sqlite(cli, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes --workers N")
    failed_readably(cli("serve", "--workers", "2", "--port", "1"), "SQLite has one writer", "PostgreSQL")


def test_category_add_keeps_the_limits_an_edit_keeps(cli):
    org = create_org(cli)
    failed_readably(cli("category", "add", "--org", org["organizationId"], "Firmware", "--description", "x" * 4001),
                    "description", "4000")
    assert "Firmware" not in succeeded(cli("category", "list", "--org", org["organizationId"]))


def test_category_update_changes_what_is_given_and_keeps_the_rest(cli):
    org = create_org(cli)
    added = as_json(cli("category", "add", "--org", org["organizationId"], "Firmware", "--description", "Updates",
                        "--example", "the update failed", "--json"))
    updated = as_json(cli("category", "update", "--org", org["organizationId"], " firmware ", "--no-ai",
                          "--example", "flashing stopped at 40%", "--example", "bricked after update", "--json"))
    assert updated["id"] == added["id"]
    assert updated["examples"] == ["flashing stopped at 40%", "bricked after update"]
    listed = {c["name"]: c for c in as_json(cli("category", "list", "--org", org["organizationId"], "--json"))}
    assert listed["Firmware"]["description"] == "Updates"  # not given: kept
    assert listed["Firmware"]["aiEnabled"] is False
    assert listed["Firmware"]["active"] is True
    cleared = as_json(cli("category", "update", "--org", org["organizationId"], added["id"], "--clear-examples",
                          "--description", "Firmware updates and flashing", "--json"))
    assert cleared["examples"] == []
    assert cleared["description"] == "Firmware updates and flashing"


def test_a_category_made_inactive_by_the_cli_stops_matching_at_once(cli, http):
    org = create_org(cli, "Legacy")
    assert create_ticket(http, org["apiKey"], category="legacy").json()["category"] == "Legacy"
    succeeded(cli("category", "update", "--org", org["organizationId"], "Legacy", "--inactive"))
    ticket = create_ticket(http, org["apiKey"], category="legacy").json()
    assert ticket["category"] is None
    succeeded(cli("category", "update", "--org", org["organizationId"], "Legacy", "--active"))
    assert create_ticket(http, org["apiKey"], category="legacy").json()["category"] == "Legacy"


def test_category_update_refuses_what_it_cannot_do_and_changes_nothing(cli):
    org, other = create_org(cli, "Billing"), create_org(cli, "Shipping")
    failed_readably(cli("category", "update", "--org", org["organizationId"], "Firmware", "--inactive"),
                    "No category 'Firmware'")
    shipping = as_json(cli("category", "list", "--org", other["organizationId"], "--json"))[0]
    failed_readably(cli("category", "update", "--org", org["organizationId"], shipping["id"], "--inactive"),
                    "No category")  # another organization's category is not one of this organization's
    failed_readably(cli("category", "update", "--org", org["organizationId"], "Billing", "--no-ai", "--auto-resolve"),
                    "auto-resolve", "AI-enabled")
    failed_readably(cli("category", "update", "--org", org["organizationId"], "Billing", "--example", "x",
                        "--clear-examples"), "not both")
    billing = as_json(cli("category", "list", "--org", org["organizationId"], "--json"))[0]
    assert (billing["active"], billing["aiEnabled"], billing["autoResolve"]) == (True, True, False)
    assert as_json(cli("category", "list", "--org", other["organizationId"], "--json"))[0]["active"] is True


def test_listings_do_not_wait_for_the_servers_writes(cli, database_url):
    """A listing (a large outbox, say) must neither take SQLite's write lock, which would hold up
    the server's writes, nor wait for it: here another connection holds it throughout."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's readers never wait for writers")
    import sqlite3

    org = create_org(cli, "Billing")
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, as the server holds it while committing a batch
    try:
        for command in (["category", "list"], ["apikey", "list"], ["member", "list"], ["rules", "list"],
                        ["team", "list"], ["webhook", "list"], ["slack", "show"], ["outbox", "list"],
                        ["triage", "status"]):
            succeeded(cli(*command, "--org", org["organizationId"]))
        succeeded(cli("org", "list"))
    finally:
        writer.rollback()
        writer.close()

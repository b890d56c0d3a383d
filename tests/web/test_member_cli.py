"""``telemetron member add --role/--password``, ``member password|role|available`` and ``demo``:
what an admin does from a shell so that people can sign in to the web app."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from telemetron.cli import app as cli_app
from telemetron.config import get_settings
from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count
from tests.support.web import Browser


def run_with_input(database_url, monkeypatch, args: list[str], stdin: str):
    monkeypatch.setenv("TELEMETRON_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, args, input=stdin)
    finally:
        get_settings.cache_clear()


def test_member_add_with_role_and_password_from_stdin_can_sign_in(cli, database_url, monkeypatch, live_server, db):
    org = as_json(cli("org", "create", "Shell Co", "--json"))
    result = run_with_input(database_url, monkeypatch, [
        "member", "add", "--org", org["organizationId"], "boss@example.com", "--name", "Boss", "--role", "admin",
        "--password-stdin", "--json"], "a long shell password\n")
    member = as_json(result)
    assert (member["role"], member["canSignIn"]) == ("admin", True)
    # The password is stored hashed, never as given.
    assert count(db, "select count(*) from members where id = :m and password_hash like 'scrypt$%'", m=member["id"]) == 1
    assert count(db, "select count(*) from members where password_hash like '%a long shell password%'") == 0
    with Browser(base_url=live_server.url, follow_redirects=False) as browser:
        assert browser.sign_in("boss@example.com", "a long shell password").status_code == 303
        assert browser.get("/admin/members").status_code == 200
    listed = as_json(cli("member", "list", "--org", org["organizationId"], "--json"))
    assert [(m["email"], m["role"], m["canSignIn"]) for m in listed] == [("boss@example.com", "admin", True)]


def test_member_password_and_role_commands(cli, database_url, monkeypatch, live_server):
    org = as_json(cli("org", "create", "Shell Co", "--json"))
    org_id = org["organizationId"]
    succeeded(cli("member", "add", "--org", org_id, "ann@example.com"))
    result = run_with_input(database_url, monkeypatch, ["member", "password", "--org", org_id, "Ann@Example.com",
                                                         "--password-stdin"], "another long password\n")
    assert "password set for ann@example.com (agent)" in succeeded(result)
    assert "another long password" not in result.output
    succeeded(cli("member", "role", "--org", org_id, "ann@example.com", "admin"))
    assert "unavailable" in succeeded(cli("member", "available", "--org", org_id, "ann@example.com", "--no"))
    with Browser(base_url=live_server.url, follow_redirects=False) as browser:
        assert browser.sign_in("ann@example.com", "another long password").status_code == 303
        assert browser.get("/admin/categories").status_code == 200


def test_member_cli_errors_are_readable(cli, database_url, monkeypatch):
    org_id = as_json(cli("org", "create", "Shell Co", "--json"))["organizationId"]
    succeeded(cli("member", "add", "--org", org_id, "ann@example.com"))
    result = run_with_input(database_url, monkeypatch, ["member", "password", "--org", org_id, "ann@example.com",
                                                         "--password-stdin"], "short\n")
    failed_readably(result, "at least 12 characters")
    for common in ("aaaaaaaaaaaa", "password1234", "ann@example.com!"):
        result = run_with_input(database_url, monkeypatch, ["member", "password", "--org", org_id, "ann@example.com",
                                                             "--password-stdin"], common + "\n")
        failed_readably(result, "too common or easy to guess")
    result = run_with_input(database_url, monkeypatch, ["member", "password", "--org", org_id, "zed@example.com",
                                                         "--password-stdin"], "long enough password\n")
    failed_readably(result, "no member", "zed@example.com")
    failed_readably(cli("member", "role", "--org", org_id, "ann@example.com", "owner"), "invalid role")
    failed_readably(cli("member", "add", "--org", org_id, "bob@example.com", "--role", "owner"), "invalid role")


def test_demo_prints_an_admin_sign_in_that_works(cli, live_server):
    out = succeeded(cli("demo", "--port", "8123"))
    found = re.search(r"Web app: http://127\.0\.0\.1:8123/signin  as (\S+) \(admin\), password (\S+)", out)
    assert found, out
    email, password = found.groups()
    with Browser(base_url=live_server.url, follow_redirects=False) as browser:
        assert browser.sign_in(email, password).status_code == 303
        assert browser.get("/admin/api-keys").status_code == 200
    # Running it again makes a new password; the old one stops working.
    again = re.search(r"password (\S+)", succeeded(cli("demo")).split("Web app:")[1]).group(1)
    assert again != password
    with Browser(base_url=live_server.url, follow_redirects=False) as browser:
        assert browser.sign_in(email, password).status_code == 401
        assert browser.sign_in(email, again).status_code == 303

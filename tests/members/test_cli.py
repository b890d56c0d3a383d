"""``telemetron member add|list``: team members, driven in-process against the live server's database.

A member the CLI adds must be assignable over the API (updateTicket), in its organization only.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count

MEMBER_ID = re.compile(r"^mem_[0-9a-f]{12}$")


# --- helpers -----------------------------------------------------------------------------------


def create_org(cli) -> dict:
    return as_json(cli("org", "create", f"CLI Org {uuid.uuid4().hex[:8]}", "--json"))


def add(cli, org: dict, email: str, *options: str) -> dict:
    return as_json(cli("member", "add", "--org", org["organizationId"], email, *options, "--json"))


def members_of(db, org: dict) -> int:
    return count(db, "select count(*) from members where organization_id = :o", o=org["organizationId"])


# --- member add ---------------------------------------------------------------------------------


def test_member_add_prints_the_new_member_and_stores_it(cli, db):
    org = create_org(cli)
    member = add(cli, org, "  Sam.Agent@Example.COM ", "--name", "Sam Agent")
    assert MEMBER_ID.match(member["id"]), member
    assert member == {"id": member["id"], "email": "sam.agent@example.com", "name": "Sam Agent", "available": True}
    assert count(
        db,
        "select count(*) from members where id = :m and organization_id = :o and email = 'sam.agent@example.com'"
        " and name = 'Sam Agent'",
        m=member["id"],
        o=org["organizationId"],
    ) == 1


def test_member_add_names_the_member_after_the_email_by_default(cli):
    org = create_org(cli)
    assert add(cli, org, "ann.lee@example.com")["name"] == "ann.lee"
    assert add(cli, org, "bob@example.com", "--name", "   ")["name"] == "bob"


def test_member_add_without_json_prints_id_email_and_name(cli):
    org = create_org(cli)
    out = succeeded(cli("member", "add", "--org", org["organizationId"], "sam@example.com", "--name", "Sam"))
    member_id, email, name = out.split()
    assert MEMBER_ID.match(member_id)
    assert (email, name) == ("sam@example.com", "Sam")


def test_same_email_in_another_case_fails_readably(cli, db):
    org = create_org(cli)
    add(cli, org, "sam@example.com")
    failed_readably(cli("member", "add", "--org", org["organizationId"], " SAM@example.com"), "already exists", "sam@example.com")
    assert members_of(db, org) == 1


@pytest.mark.parametrize("email", ["not-an-email", "sam@", "@example.com", "", "sam @example.com"])
def test_an_invalid_email_fails_readably(cli, db, email):
    org = create_org(cli)
    failed_readably(cli("member", "add", "--org", org["organizationId"], email), "email")
    assert members_of(db, org) == 0


def test_a_name_over_255_characters_fails_readably_on_every_database(cli, db):
    org = create_org(cli)
    failed_readably(cli("member", "add", "--org", org["organizationId"], "sam@example.com", "--name", "x" * 256), "name", "255")
    assert members_of(db, org) == 0
    assert add(cli, org, "sam@example.com", "--name", "x" * 255)["name"] == "x" * 255


def test_the_same_email_in_two_organizations_is_two_members(cli):
    one, two = create_org(cli), create_org(cli)
    first = add(cli, one, "sam@example.com")
    second = add(cli, two, "sam@example.com")
    assert first["id"] != second["id"]


# --- member list --------------------------------------------------------------------------------


def test_member_list_shows_the_organizations_members_by_email(cli):
    org = create_org(cli)
    other = create_org(cli)
    zed = add(cli, org, "zed@example.com", "--name", "Zed")
    ann = add(cli, org, "ann@example.com", "--name", "Ann")
    add(cli, other, "intruder@example.com")

    listed = as_json(cli("member", "list", "--org", org["organizationId"], "--json"))
    assert [(m["id"], m["email"], m["name"], m["available"]) for m in listed] == [
        (ann["id"], "ann@example.com", "Ann", True),
        (zed["id"], "zed@example.com", "Zed", True),
    ]
    for m in listed:
        assert m["createdAt"]

    text = succeeded(cli("member", "list", "--org", org["organizationId"]))
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == [ann["id"], "ann@example.com"]
    assert "intruder" not in text


def test_member_list_of_an_organization_without_members(cli):
    org = create_org(cli)
    assert as_json(cli("member", "list", "--org", org["organizationId"], "--json")) == []
    assert succeeded(cli("member", "list", "--org", org["organizationId"])) == ""


@pytest.mark.parametrize("args", [["member", "add", "sam@example.com"], ["member", "list", "--json"]], ids=["add", "list"])
def test_unknown_org_fails_readably(cli, db, args):
    org_id = "org_" + uuid.uuid4().hex[:12]
    failed_readably(cli(*args, "--org", org_id), org_id, "not found")
    assert count(db, "select count(*) from members where organization_id = :o", o=org_id) == 0


# --- members and tickets ------------------------------------------------------------------------


def test_a_member_added_by_the_cli_can_be_assigned_over_the_api(cli, http):
    org = create_org(cli)
    other = create_org(cli)
    sam = add(cli, org, "sam@example.com", "--name", "Sam")
    theirs = add(cli, other, "sam@example.com")
    headers = {"x-api-key": org["apiKey"]}
    created = http.post(
        "/api/ext-v1/ticket/createTicket", json={"title": "WiFi", "customerEmail": "ann@example.com"}, headers=headers
    )
    ticket_id = created.json()["ticketId"]

    response = http.post("/api/ext-v1/ticket/updateTicket", json={"ticketId": ticket_id, "assigneeId": sam["id"]}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["ticket"]["assignee"] == {"id": sam["id"], "email": "sam@example.com", "name": "Sam"}

    response = http.post("/api/ext-v1/ticket/updateTicket", json={"ticketId": ticket_id, "assigneeId": theirs["id"]}, headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"

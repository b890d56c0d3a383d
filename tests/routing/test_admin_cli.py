"""The routing admin commands: rules (and their dry run), teams, Slack, webhooks and the outbox.

Driven in-process with Typer's CliRunner against the test database; their effect is checked on
what a client then sees over HTTP and on what is stored.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from telemetron.db.tables import outbox
from tests.support.cli import as_json, failed_readably, succeeded
from tests.support.databases import count
from tests.support.routing import (
    create,
    fan_out,
    member,
    outbox_targets,
    public,
    rule,
    stored,
    team,
    team_cursor,
)

SLACK = "https://hooks.slack.com/services/T0001/B0002/SuperSecretToken42xyz"


def org_count(db, table: str, org_id: str) -> int:
    return count(db, f"select count(*) from {table} where organization_id = :o", o=org_id)


# --- rules --------------------------------------------------------------------------------------


def test_rules_add_list_and_disable(cli, http, db, tenant):
    org = ("--org", tenant.id)
    added = as_json(cli("rules", "add", *org, "Billing VIP", "--category", "Billing", "--priority", "high", "--priority", "URGENT",
                        "--keyword", "refund", "--email-domain", "bigcorp.com", "--set-priority", "urgent", "--tag", "vip",
                        "--tag", "billing", "--slack-channel", "#vip", "--position", "5", "--continue", "--json"))
    assert added["id"].startswith("rule_") and added["name"] == "Billing VIP" and added["position"] == 5
    catch_all = as_json(cli("rules", "add", *org, "Everything else", "--tag", "other", "--json"))
    assert catch_all["position"] > 5

    listed = as_json(cli("rules", "list", *org, "--json"))
    assert [r["id"] for r in listed] == [added["id"], catch_all["id"]]
    first = listed[0]
    assert first["enabled"] is True and first["continue"] is True
    assert first["conditions"] == {"ticketCategory": ["Billing"], "priority": ["high", "URGENT"], "emailDomain": ["bigcorp.com"],
                                   "keywords": ["refund"]}
    assert first["actions"] == {"setPriority": "urgent", "addTags": ["vip", "billing"], "slackChannel": "#vip"}
    assert listed[1]["conditions"] == {} and listed[1]["continue"] is False

    # The rules route tickets at once.
    hit = create(http, tenant, category="billing", priority="high", customerEmail="boss@bigcorp.com", title="Refund please")
    row = stored(db, hit["ticketId"])
    assert (row["priority"], row["tags"], row["routed_by_rule_id"]) == ("urgent", ["vip", "billing", "other"], added["id"])

    out = succeeded(cli("rules", "disable", *org, added["id"]))
    assert added["id"] in out
    listed = as_json(cli("rules", "list", *org, "--json"))
    assert [(r["id"], r["enabled"]) for r in listed] == [(added["id"], False), (catch_all["id"], True)]
    text = succeeded(cli("rules", "list", *org))
    assert "Billing VIP (disabled)" in text and "Everything else" in text and "always" in text

    row = stored(db, create(http, tenant, category="billing", priority="high", customerEmail="boss@bigcorp.com", title="Refund")["ticketId"])
    assert (row["tags"], row["routed_by_rule_id"]) == (["other"], catch_all["id"])


def test_rules_add_prints_the_rule_readably_without_json(cli, tenant):
    out = succeeded(cli("rules", "add", "--org", tenant.id, "Tagger", "--tag", "x"))
    assert "rule_" in out and "Tagger" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--category", "Billing"], ["at least one action"]),
        (["--priority", "critical", "--tag", "x"], ["priority", "low, medium, high, urgent"]),
        (["--set-priority", "asap"], ["setPriority", "low, medium, high, urgent"]),
        (["--assign-member", "mem_1", "--assign-team", "team_1"], ["not both"]),
        (["--assign-member", "mem_000000000000"], ["mem_000000000000", "not found"]),
        (["--assign-team", "team_000000000000"], ["team_000000000000", "not found"]),
    ],
    ids=["no-action", "bad-priority", "bad-set-priority", "member-and-team", "unknown-member", "unknown-team"],
)
def test_rules_add_refuses_bad_rules_readably(cli, db, tenant, args, words):
    failed_readably(cli("rules", "add", "--org", tenant.id, "Bad", *args), *words)
    assert org_count(db, "routing_rules", tenant.id) == 0


def test_rules_add_refuses_another_organizations_member(cli, db, tenant, other_tenant):
    theirs = member(db, other_tenant.id, "Their Agent")
    failed_readably(cli("rules", "add", "--org", tenant.id, "Steal", "--assign-member", theirs["id"]), theirs["id"], "not found")
    assert org_count(db, "routing_rules", tenant.id) == 0


def test_rules_disable_of_an_unknown_or_foreign_rule_fails_readably(cli, db, tenant, other_tenant):
    theirs = rule(db, other_tenant.id, "Theirs", addTags=["x"])
    failed_readably(cli("rules", "disable", "--org", tenant.id, theirs["id"]), theirs["id"], "not found")
    failed_readably(cli("rules", "disable", "--org", tenant.id, "rule_000000000000"), "not found")
    assert [r["enabled"] for r in as_json(cli("rules", "list", "--org", other_tenant.id, "--json"))] == [True]


def test_rules_commands_need_an_existing_organization(cli):
    failed_readably(cli("rules", "list", "--org", "org_000000000000"), "org_000000000000", "not found")


# --- teams --------------------------------------------------------------------------------------


def test_team_add_and_list(cli, http, db, tenant):
    ann, bob = member(db, tenant.id, "Ann"), member(db, tenant.id, "Bob")
    org = ("--org", tenant.id)
    support = as_json(cli("team", "add", *org, "Support", "--member", ann["id"], "--member", bob["id"], "--json"))
    assert support["id"].startswith("team_") and support["name"] == "Support" and support["strategy"] == "round_robin"
    desk = as_json(cli("team", "add", *org, "Desk", "--member", ann["id"], "--strategy", "least_open", "--json"))
    assert desk["strategy"] == "least_open"
    assert as_json(cli("team", "list", *org, "--json")) == [desk, support]
    text = succeeded(cli("team", "list", *org))
    assert "Support" in text and "least_open" in text

    rule_row = as_json(cli("rules", "add", *org, "To support", "--assign-team", support["id"], "--json"))
    assert as_json(cli("rules", "list", *org, "--json"))[0]["actions"] == {"assignTeam": support["id"]}
    # Every member unavailable: the rule still explains itself.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"update members set available = false where organization_id = '{tenant.id}'")
    response = create(http, tenant)
    assert response["assignee"] is None
    assert response["routing"]["ruleId"] == rule_row["id"]
    assert "no available member in team Support" in response["routing"]["reason"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--strategy", "random"], ["round_robin", "least_open"]),
        (["--member", "mem_000000000000"], ["mem_000000000000", "not found"]),
    ],
    ids=["bad-strategy", "unknown-member"],
)
def test_team_add_refuses_bad_teams_readably(cli, db, tenant, args, words):
    failed_readably(cli("team", "add", "--org", tenant.id, "Support", *args), *words)
    assert org_count(db, "teams", tenant.id) == 0


def test_team_add_with_a_member_given_twice_does_not_crash(cli, db, tenant):
    ann = member(db, tenant.id, "Ann")
    result = cli("team", "add", "--org", tenant.id, "Support", "--member", ann["id"], "--member", ann["id"])
    if result.exit_code == 0:
        assert count(db, "select count(*) from team_members where member_id = :m", m=ann["id"]) == 1
    else:
        failed_readably(result, ann["id"])
        assert org_count(db, "teams", tenant.id) == 0


@pytest.mark.parametrize("command", [("rules", "add"), ("team", "add")], ids=["rule", "team"])
def test_over_long_names_fail_readably(cli, db, tenant, command):
    extra = ["--tag", "x"] if command[0] == "rules" else []
    failed_readably(cli(*command, "--org", tenant.id, "n" * 300, *extra), "255")
    assert org_count(db, "routing_rules", tenant.id) + org_count(db, "teams", tenant.id) == 0


def test_team_names_are_unique_per_organization(cli, db, tenant, other_tenant):
    succeeded(cli("team", "add", "--org", tenant.id, "Support"))
    failed_readably(cli("team", "add", "--org", tenant.id, "Support"), "already exists")
    succeeded(cli("team", "add", "--org", other_tenant.id, "Support"))
    assert org_count(db, "teams", tenant.id) == 1


# --- Slack and webhooks -------------------------------------------------------------------------


def test_slack_set_never_prints_the_webhook_url_back(cli, http, db, tenant):
    org = ("--org", tenant.id)
    saved = cli("slack", "set", *org, "--webhook-url", SLACK, "--public-url", "https://help.example.com/")
    assert "SuperSecretToken" not in succeeded(saved)

    text = succeeded(cli("slack", "show", *org))
    shown = as_json(cli("slack", "show", *org, "--json"))
    for output in (text, json.dumps(shown)):
        assert SLACK not in output and "SuperSecretToken" not in output and "T0001/B0002" not in output
    assert shown["slackWebhookUrl"].startswith("https://hooks.slack.com/")
    assert shown["publicUrl"] == "https://help.example.com"
    assert "hooks.slack.com" in text

    # It is in use: a new ticket is queued for Slack, with a link to the web app.
    ticket = create(http, tenant)
    with db.engine.connect() as conn:
        [payload] = conn.execute(select(outbox.c.payload).where(outbox.c.ticket_id == ticket["ticketId"])).scalars().all()
    assert f"https://help.example.com/tickets/{ticket['ticketId']}" in json.dumps(payload)


def test_slack_set_refuses_an_invalid_url_readably_and_keeps_the_old_one(cli, tenant):
    org = ("--org", tenant.id)
    succeeded(cli("slack", "set", *org, "--webhook-url", SLACK))
    before = as_json(cli("slack", "show", *org, "--json"))
    for bad in ("hooks.slack.com/services/x", "ftp://hooks.slack.com/x", "https://"):
        failed_readably(cli("slack", "set", *org, "--webhook-url", bad), "url")
    assert as_json(cli("slack", "show", *org, "--json")) == before


def test_slack_can_be_turned_off(cli, http, db, tenant):
    org = ("--org", tenant.id)
    succeeded(cli("slack", "set", *org, "--webhook-url", SLACK))
    succeeded(cli("slack", "set", *org, "--webhook-url", ""))
    assert as_json(cli("slack", "show", *org, "--json"))["slackWebhookUrl"] is None
    assert "not set" in succeeded(cli("slack", "show", *org))
    ticket = create(http, tenant)
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=ticket["ticketId"]) == 0


def test_webhook_add_prints_a_signing_secret_and_list_hides_it(cli, http, db, tenant):
    org = ("--org", tenant.id)
    text = succeeded(cli("webhook", "add", *org, "https://hooks.example.com/a"))
    assert "whsec_" in text and "whk_" in text
    added = as_json(cli("webhook", "add", *org, "https://hooks.example.com/b", "--json"))
    assert added["secret"].startswith("whsec_") and added["id"].startswith("whk_") and added["url"] == "https://hooks.example.com/b"

    listed = as_json(cli("webhook", "list", *org, "--json"))
    assert [e["url"] for e in listed] == ["https://hooks.example.com/a", "https://hooks.example.com/b"]
    assert all(e["enabled"] is True and "secret" not in e for e in listed)
    assert added["secret"] not in succeeded(cli("webhook", "list", *org))
    with_secrets = as_json(cli("webhook", "list", *org, "--show-secrets", "--json"))
    assert with_secrets[1]["secret"] == added["secret"]
    assert with_secrets[0]["secret"].startswith("whsec_") and with_secrets[0]["secret"] in text

    ticket = create(http, tenant)
    ids = [e["id"] for e in listed]
    assert outbox_targets(db, ticket["ticketId"]) == [("webhook", ids[0]), ("webhook", ids[1])]
    # One row in the ticket's transaction, one message per endpoint once a worker fanned it out.
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=ticket["ticketId"]) == 1
    fan_out(db, tenant.id)
    assert count(db, "select count(*) from outbox where ticket_id = :t and channel = 'webhook'", t=ticket["ticketId"]) == 2
    assert outbox_targets(db, ticket["ticketId"]) == [("webhook", ids[0]), ("webhook", ids[1])]


def test_webhook_add_refuses_an_invalid_url_readably(cli, db, tenant):
    failed_readably(cli("webhook", "add", "--org", tenant.id, "not a url"), "url")
    assert org_count(db, "webhook_endpoints", tenant.id) == 0


# --- outbox -------------------------------------------------------------------------------------


def _failed_message(cli, http, db, tenant) -> int:
    succeeded(cli("slack", "set", "--org", tenant.id, "--webhook-url", "http://127.0.0.1:9/x"))
    ticket = create(http, tenant)
    fan_out(db, tenant.id)  # as a worker does before it sends
    with db.engine.begin() as conn:
        message_id = conn.execute(select(outbox.c.id).where(outbox.c.ticket_id == ticket["ticketId"],
                                                            outbox.c.channel == "slack")).scalar_one()
        conn.execute(outbox.update().where(outbox.c.id == message_id).values(status="failed", attempts=5, last_error="Slack answered 404 no_service"))
    return message_id


def test_outbox_list_and_retry_of_a_failed_message(cli, http, db, tenant):
    org = ("--org", tenant.id)
    message_id = _failed_message(cli, http, db, tenant)
    create(http, tenant)  # a pending one beside it

    failed = as_json(cli("outbox", "list", *org, "--status", "failed", "--json"))
    assert [(m["id"], m["status"], m["channel"], m["event"], m["lastError"]) for m in failed] == [
        (message_id, "failed", "slack", "ticket.created", "Slack answered 404 no_service")
    ]
    assert message_id not in [m["id"] for m in as_json(cli("outbox", "list", *org, "--status", "pending", "--json"))]
    # Newest first, the pending event (not yet a delivery) beside the failed delivery.
    assert [m["channel"] for m in as_json(cli("outbox", "list", *org, "--json"))] == ["event", "slack"]
    assert [m["channel"] for m in as_json(cli("outbox", "list", *org, "--limit", "1", "--json"))] == ["event"]
    assert "no_service" in succeeded(cli("outbox", "list", *org, "--status", "failed"))

    out = succeeded(cli("outbox", "retry", *org, str(message_id)))
    assert str(message_id) in out
    assert as_json(cli("outbox", "list", *org, "--status", "failed", "--json")) == []
    with db.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().one()
    assert row["status"] == "pending" and row["last_error"] is None

    # Now pending: not a failed message any more.
    failed_readably(cli("outbox", "retry", *org, str(message_id)), str(message_id), "not a failed message")


def test_outbox_retry_refuses_another_organizations_message(cli, http, db, tenant, other_tenant):
    message_id = _failed_message(cli, http, db, tenant)
    failed_readably(cli("outbox", "retry", "--org", other_tenant.id, str(message_id)), "not a failed message")
    assert count(db, "select count(*) from outbox where id = :i and status = 'failed'", i=message_id) == 1
    assert as_json(cli("outbox", "list", "--org", other_tenant.id, "--json")) == []


def test_outbox_retry_of_an_unknown_message_and_bad_status_fail_readably(cli, tenant):
    failed_readably(cli("outbox", "retry", "--org", tenant.id, "987654321"), "not a failed message")
    failed_readably(cli("outbox", "list", "--org", tenant.id, "--status", "lost"), "pending, delivered or failed")


# --- dry run ------------------------------------------------------------------------------------


def _vip_setup(cli, db, tenant) -> dict:
    org = ("--org", tenant.id)
    succeeded(cli("slack", "set", *org, "--webhook-url", SLACK))
    endpoint = as_json(cli("webhook", "add", *org, "https://hooks.example.com/t", "--json"))
    people = [member(db, tenant.id, "Vera"), member(db, tenant.id, "Victor")]
    vip = team(db, tenant.id, "VIP desk", [p["id"] for p in people])
    r = as_json(cli("rules", "add", *org, "VIP customers", "--email-domain", "bigcorp.com", "--assign-team", vip["id"],
                    "--set-priority", "high", "--tag", "vip", "--slack-channel", "#vip", "--json"))
    return {"endpoint": endpoint, "people": people, "team": vip, "rule": r}


def _snapshot(db, tenant, team_id) -> dict:
    return {
        "tickets": org_count(db, "tickets", tenant.id),
        "customers": org_count(db, "customers", tenant.id),
        "outbox": org_count(db, "outbox", tenant.id),
        "messages": org_count(db, "ticket_messages", tenant.id),
        "cursor": team_cursor(db, team_id),
    }


BODY = {"title": "Invoice is wrong", "customerEmail": "new.boss@bigcorp.com", "category": "billing",
        "messages": [{"role": "customer", "content": "I was charged twice"}]}


def test_rules_test_shows_what_would_happen_and_stores_nothing(cli, db, tenant):
    setup = _vip_setup(cli, db, tenant)
    before = _snapshot(db, tenant, setup["team"]["id"])

    result = as_json(cli("rules", "test", "--org", tenant.id, json.dumps(BODY), "--json"))
    assert result["dryRun"] is True
    assert (result["category"], result["categorySource"], result["priority"], result["status"]) == ("Billing", "provided", "high", "open")
    assert result["assignee"] in [public(p) for p in setup["people"]]
    assert result["tags"] == ["vip"]
    assert result["routing"]["ruleId"] == setup["rule"]["id"]
    reason = result["routing"]["reason"]
    assert "rule 'VIP customers' matched because customer email domain is bigcorp.com" in reason
    assert f"assigned to {result['assignee']['name']} of team VIP desk (round-robin)" in reason
    assert result["notifications"] == ["slack #vip", f"webhook {setup['endpoint']['id']}"]
    assert result["customerCreated"] is True

    assert _snapshot(db, tenant, setup["team"]["id"]) == before
    assert count(db, "select count(*) from customers where email = 'new.boss@bigcorp.com'") == 0
    # Again: the same member, since no turn was taken.
    again = as_json(cli("rules", "test", "--org", tenant.id, json.dumps(BODY), "--json"))
    assert again["assignee"] == result["assignee"]
    assert _snapshot(db, tenant, setup["team"]["id"]) == before


def test_rules_test_prints_a_readable_summary(cli, db, tenant):
    setup = _vip_setup(cli, db, tenant)
    out = succeeded(cli("rules", "test", "--org", tenant.id, json.dumps(BODY)))
    assert "category:   Billing (provided)" in out
    assert "priority:   high" in out
    assert any(f"assignee:   {p['name']} <{p['email']}>" in out for p in setup["people"])
    assert "tags:       vip" in out
    assert "rule 'VIP customers' matched" in out
    assert f"notify:     slack #vip, webhook {setup['endpoint']['id']}" in out
    assert org_count(db, "tickets", tenant.id) == 0


def test_rules_test_without_rules_or_notifications(cli, db, tenant):
    body = {"title": "Hello", "customerEmail": "someone@example.com"}
    result = as_json(cli("rules", "test", "--org", tenant.id, json.dumps(body), "--json"))
    assert result["assignee"] is None and result["tags"] == [] and result["notifications"] == []
    assert result["routing"] == {"ruleId": None, "reason": None}
    assert (result["category"], result["categorySource"], result["priority"]) == (None, "none", "medium")
    out = succeeded(cli("rules", "test", "--org", tenant.id, json.dumps(body)))
    assert "assignee:   nobody" in out and "routing:    no rules" in out and "notify:     nothing" in out
    assert org_count(db, "customers", tenant.id) == 0


def test_rules_test_of_an_existing_customer_does_not_touch_it(cli, http, db, tenant):
    create(http, tenant, customerEmail="known@example.com")
    result = as_json(cli("rules", "test", "--org", tenant.id, json.dumps({"title": "Again", "customerEmail": "known@example.com"}), "--json"))
    assert result["customerCreated"] is False
    assert org_count(db, "tickets", tenant.id) == 1


@pytest.mark.parametrize(
    ("ticket", "words"),
    [
        ("{not json", ["not valid JSON"]),
        (json.dumps({"title": "No customer"}), ["customer"]),
        (json.dumps({"title": "x", "customerEmail": "a@example.com", "priority": "asap"}), ["priority"]),
    ],
    ids=["bad-json", "no-customer", "bad-priority"],
)
def test_rules_test_refuses_a_bad_ticket_readably(cli, db, tenant, ticket, words):
    failed_readably(cli("rules", "test", "--org", tenant.id, ticket), *words)
    assert org_count(db, "customers", tenant.id) == 0


def test_after_a_dry_run_the_next_real_ticket_goes_to_the_member_it_named(cli, http, db, tenant):
    setup = _vip_setup(cli, db, tenant)
    dry = as_json(cli("rules", "test", "--org", tenant.id, json.dumps(BODY), "--json"))
    real = create(http, tenant, **BODY)
    assert real["assignee"] == dry["assignee"]
    assert real["routing"] == dry["routing"]  # the same rule, for the same reason
    row = stored(db, real["ticketId"])
    assert (row["assignee_id"], row["priority"], row["tags"]) == (dry["assignee"]["id"], "high", ["vip"])
    assert team_cursor(db, setup["team"]["id"]) == dry["assignee"]["id"]

"""Routing rules: each condition, their combination, order, continue_matching, disabled rules, validation.

Tickets are created over HTTP; what a client sees (assignee, routing) and what is stored in
``tickets`` (assignee_id, routed_by_rule_id, routing_reason, tags, priority) are both checked.
"""

from __future__ import annotations

import pytest

from telemetron.errors import InvalidRequest
from telemetron.routing.service import add_rule, list_rules
from tests.support.databases import count
from tests.support.routing import (
    create,
    customer_with_category,
    disable,
    give_device,
    member,
    public,
    rule,
    scoped,
    stored,
)
from tests.support.tenants import make_tenant


@pytest.fixture
def ann(db, tenant):
    return member(db, tenant.id, "Ann Agent")


@pytest.fixture
def bob(db, tenant):
    return member(db, tenant.id, "Bob Agent")


def routed(db, response: dict, rule_row: dict, tags: list[str]) -> dict:
    """Assert ``rule_row`` routed the ticket (response and table agree) and the stored tags; returns the row."""
    row = stored(db, response["ticketId"])
    assert row["routed_by_rule_id"] == rule_row["id"]
    assert response["routing"] == {"ruleId": rule_row["id"], "reason": row["routing_reason"]}
    assert f"rule '{rule_row['name']}' matched because " in row["routing_reason"]
    assert row["tags"] == tags
    return row


def not_routed(db, response: dict) -> dict:
    row = stored(db, response["ticketId"])
    assert response["assignee"] is None and row["assignee_id"] is None
    assert row["routed_by_rule_id"] is None
    assert row["routing_reason"] == "no routing rule matched"
    assert response["routing"] == {"ruleId": None, "reason": "no routing rule matched"}
    assert row["tags"] == []
    return row


# --- each condition -----------------------------------------------------------------------------


def test_ticket_category_matches_ignoring_case(http, db, tenant):
    r = rule(db, tenant.id, "Billing desk", {"ticketCategory": ["billing"]}, addTags=["billing"])

    hit = create(http, tenant, category="BILLING")
    row = routed(db, hit, r, ["billing"])
    assert hit["category"] == "Billing"
    assert "ticket category is Billing" in row["routing_reason"]

    not_routed(db, create(http, tenant, category="Battery"))
    not_routed(db, create(http, tenant))  # uncategorized
    not_routed(db, create(http, tenant, category="Billing problems"))  # no such category: uncategorized


def test_priority_matches_any_listed_ignoring_case(http, db, tenant):
    r = rule(db, tenant.id, "Hot", {"priority": ["HIGH", "urgent"]}, addTags=["hot"])

    for priority in ("high", "urgent"):
        row = routed(db, create(http, tenant, priority=priority), r, ["hot"])
        assert f"priority is {priority}" in row["routing_reason"]
        assert row["priority"] == priority
    not_routed(db, create(http, tenant, priority="low"))
    not_routed(db, create(http, tenant))  # medium by default


def test_email_domain_is_the_customers_domain_ignoring_case(http, db, tenant):
    r = rule(db, tenant.id, "Acme", {"emailDomain": ["Acme.COM"]}, addTags=["acme"])

    hit = create(http, tenant, customerEmail="Jane@ACME.com")
    row = routed(db, hit, r, ["acme"])
    assert "customer email domain is acme.com" in row["routing_reason"]
    # By customerId: the domain is the stored customer's.
    routed(db, create(http, tenant, customerId=hit["customerId"], customerEmail=None), r, ["acme"])

    not_routed(db, create(http, tenant, customerEmail="jane@sub.acme.com"))
    not_routed(db, create(http, tenant, customerEmail="jane@acme.com.example.org"))
    not_routed(db, create(http, tenant, customerEmail="acme.com@example.org"))


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "WiFi drops every hour"},
        {"title": "Connection problem", "description": "The wifi, again."},
        {"title": "Connection problem", "description": "x", "messages": [{"role": "customer", "content": "my WIFI is gone"}]},
        {"title": "Connection problem", "messages": [{"role": "bot", "content": "Hi"}, {"role": "customer", "content": "It KEEPS DROPPING at night"}]},
        {"title": "(wifi)"},
    ],
    ids=["title", "description", "message", "phrase-in-later-message", "punctuation"],
)
def test_keywords_match_whole_words_or_phrases_in_title_description_or_messages(http, db, tenant, fields):
    r = rule(db, tenant.id, "Network", {"keywords": ["wifi", "keeps dropping"]}, addTags=["network"])
    row = routed(db, create(http, tenant, **fields), r, ["network"])
    assert "text mentions '" in row["routing_reason"]


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Too many wifis here"},
        {"title": "mywifi app crashes"},
        {"title": "wifi_module error"},
        {"title": "Connection problem", "description": "it keeps on dropping"},
        {"title": "Connection problem", "description": "x",
         "messages": [{"role": "customer", "content": "it keeps"}, {"role": "customer", "content": "dropping"}]},
    ],
    ids=["plural", "prefix", "underscore", "phrase-split", "phrase-across-messages"],
)
def test_keywords_do_not_match_parts_of_words(http, db, tenant, fields):
    rule(db, tenant.id, "Network", {"keywords": ["wifi", "keeps dropping"]}, addTags=["network"])
    not_routed(db, create(http, tenant, **fields))


def test_keyword_reason_names_the_word_found(http, db, tenant):
    rule(db, tenant.id, "Network", {"keywords": ["router", "WiFi"]}, addTags=["network"])
    row = stored(db, create(http, tenant, title="wifi drops")["ticketId"])
    assert "rule 'Network' matched because text mentions 'WiFi'" in row["routing_reason"]


def test_customer_category_matches_the_customers_category(http, db):
    tenant = make_tenant(db, categories=("Connectivity", "Billing", "VIP"))
    r = rule(db, tenant.id, "VIP customers", {"customerCategory": ["vip"]}, addTags=["vip"])
    customer_with_category(db, tenant.id, "boss@bigcorp.com", "VIP")
    customer_with_category(db, tenant.id, "payer@bigcorp.com", "Billing")

    row = routed(db, create(http, tenant, customerEmail="boss@bigcorp.com"), r, ["vip"])
    assert "customer category is VIP" in row["routing_reason"]
    not_routed(db, create(http, tenant, customerEmail="payer@bigcorp.com"))
    not_routed(db, create(http, tenant, customerEmail="nobody@bigcorp.com"))  # new customer, no category
    # The ticket's own category is not the customer's.
    not_routed(db, create(http, tenant, customerEmail="payer@bigcorp.com", category="vip"))


def test_device_category_matches_any_device_of_the_customer(http, db):
    tenant = make_tenant(db, categories=("Connectivity", "Router", "Thermostat"))
    r = rule(db, tenant.id, "Router owners", {"deviceCategory": ["ROUTER"]}, addTags=["router"])
    give_device(db, tenant.id, "two@example.com", "Thermostat")
    give_device(db, tenant.id, "two@example.com", "Router")
    give_device(db, tenant.id, "thermo@example.com", "Thermostat")
    give_device(db, tenant.id, "plain@example.com", None)

    row = routed(db, create(http, tenant, customerEmail="two@example.com"), r, ["router"])
    assert "device category is router" in row["routing_reason"].lower()
    not_routed(db, create(http, tenant, customerEmail="thermo@example.com"))
    not_routed(db, create(http, tenant, customerEmail="plain@example.com"))
    not_routed(db, create(http, tenant, customerEmail="nodevice@example.com"))


def test_all_given_conditions_must_match(http, db, tenant):
    r = rule(db, tenant.id, "Urgent wifi at Acme",
             {"ticketCategory": ["Connectivity"], "priority": ["high"], "emailDomain": ["acme.com"], "keywords": ["wifi"]},
             addTags=["acme-wifi"])
    good = {"category": "connectivity", "priority": "high", "customerEmail": "jo@acme.com", "title": "WiFi down"}

    row = routed(db, create(http, tenant, **good), r, ["acme-wifi"])
    for clause in ("ticket category is Connectivity", "priority is high", "customer email domain is acme.com", "text mentions 'wifi'"):
        assert clause in row["routing_reason"]
    for spoiler in ({"category": "Billing"}, {"priority": "low"}, {"customerEmail": "jo@other.com"}, {"title": "Screen broken"}):
        not_routed(db, create(http, tenant, **{**good, **spoiler}))


def test_a_rule_without_conditions_catches_every_ticket(http, db, tenant):
    r = rule(db, tenant.id, "Everything", addTags=["seen"])
    for fields in ({}, {"category": "Billing", "priority": "urgent"}, {"customerEmail": "x@example.org", "title": "?"}):
        row = routed(db, create(http, tenant, **fields), r, ["seen"])
        assert row["routing_reason"] == "rule 'Everything' matched because it matches every ticket; tagged seen"


# --- order --------------------------------------------------------------------------------------


def test_lower_position_runs_first_whatever_the_creation_order(http, db, tenant):
    rule(db, tenant.id, "Later", position=20, addTags=["later"])
    first = rule(db, tenant.id, "Earlier", position=10, addTags=["earlier"])
    routed(db, create(http, tenant), first, ["earlier"])


def test_a_rule_without_position_goes_after_the_others(db, tenant):
    a = rule(db, tenant.id, "A", position=50, addTags=["a"])
    b = rule(db, tenant.id, "B", addTags=["b"])
    assert b["position"] > a["position"]
    assert [r["id"] for r in scoped(db, tenant.id, list_rules)] == [a["id"], b["id"]]


def test_the_first_matching_rule_wins(http, db, tenant):
    billing = rule(db, tenant.id, "Billing", {"ticketCategory": ["Billing"]}, addTags=["billing"])
    rest = rule(db, tenant.id, "Rest", addTags=["general"], setPriority="low")

    row = routed(db, create(http, tenant, category="Billing", priority="high"), billing, ["billing"])
    assert row["priority"] == "high"
    assert "'Rest'" not in row["routing_reason"]

    row = routed(db, create(http, tenant, category="Battery", priority="high"), rest, ["general"])
    assert row["priority"] == "low"


def test_continue_matching_lets_later_rules_add_tags_and_override_priority(http, db, tenant):
    triage = rule(db, tenant.id, "Triage", position=10, continue_matching=True, setPriority="high", addTags=["triage"])
    rule(db, tenant.id, "Outage", {"keywords": ["outage"]}, position=20, setPriority="urgent", addTags=["outage", "triage"])
    rule(db, tenant.id, "Fallback", position=30, addTags=["fallback"])
    rule(db, tenant.id, "Never", position=40, addTags=["never"])

    outage = create(http, tenant, title="Total outage in Paris", priority="low")
    row = stored(db, outage["ticketId"])
    assert row["priority"] == "urgent"  # the later rule's priority wins
    assert row["tags"] == ["triage", "outage"]  # tags add up, once each
    reason = row["routing_reason"]
    assert "rule 'Triage' matched" in reason and "rule 'Outage' matched" in reason
    assert reason.index("'Triage'") < reason.index("'Outage'")
    assert "Fallback" not in reason and "Never" not in reason
    assert outage["routing"] == {"ruleId": row["routed_by_rule_id"], "reason": reason}
    assert row["routed_by_rule_id"] == triage["id"]  # the first rule that matched

    other = create(http, tenant, title="Screen broken", priority="low")
    row = stored(db, other["ticketId"])
    assert row["priority"] == "high"
    assert row["tags"] == ["triage", "fallback"]
    assert "Never" not in row["routing_reason"]


def test_a_later_rule_sees_the_priority_an_earlier_one_set(http, db, tenant, ann):
    rule(db, tenant.id, "VIP urgent", {"emailDomain": ["vip.example"]}, position=10, continue_matching=True,
         setPriority="urgent")
    urgent = rule(db, tenant.id, "Urgent to Ann", {"priority": ["urgent"]}, position=20, assignMember=ann["id"])

    ticket = create(http, tenant, customerEmail="boss@vip.example", priority="low")
    row = stored(db, ticket["ticketId"])
    assert (row["priority"], row["assignee_id"]) == ("urgent", ann["id"])
    assert f"rule '{urgent['name']}' matched because priority is urgent" in row["routing_reason"]
    not_routed(db, create(http, tenant, customerEmail="someone@else.example", priority="low"))


def test_domains_and_channels_as_people_write_them_are_accepted(db, tenant):
    r = rule(db, tenant.id, "Intl", {"emailDomain": ["xn--bcher-kva.de", "bücher.de", "mail.co.uk", "my-co.io"]},
             slackChannel=" #vip-support_2 ")
    assert r["actions"]["slackChannel"] == "#vip-support_2"
    for channel in ("support", "C0123ABCD", "@ann"):
        rule(db, tenant.id, f"Channel {channel}", slackChannel=channel)


def test_an_email_domain_is_taken_as_people_type_it(http, db, tenant):
    r = rule(db, tenant.id, "Globex", {"emailDomain": [" @Globex.COM "]}, addTags=["globex"])
    assert r["conditions"] == {"emailDomain": ["globex.com"]}
    routed(db, create(http, tenant, customerEmail="a@globex.com"), r, ["globex"])


@pytest.mark.parametrize("key", ["ticketCategory", "customerCategory", "deviceCategory"])
def test_a_rule_naming_no_category_of_the_organization_is_refused(db, tenant, key):
    with pytest.raises(InvalidRequest) as error:
        rule(db, tenant.id, "Typo", {key: ["Billling"]}, addTags=["x"])
    assert "No category 'Billling'" in error.value.message and "Billing" in error.value.message
    assert error.value.field == f"conditions.{key}"
    assert count(db, "select count(*) from routing_rules where organization_id = :o", o=tenant.id) == 0
    rule(db, tenant.id, "Right", {key: ["billing"]}, addTags=["x"])  # any case, as it matches


def test_continue_matching_a_later_assignment_overrides_an_earlier_one(http, db, tenant, ann, bob):
    rule(db, tenant.id, "Triage", position=10, continue_matching=True, assignMember=ann["id"])
    rule(db, tenant.id, "Outage", {"keywords": ["outage"]}, position=20, assignMember=bob["id"])
    rule(db, tenant.id, "Tag only", position=30, addTags=["x"])

    outage = create(http, tenant, title="Total outage")
    assert outage["assignee"] == public(bob)
    assert stored(db, outage["ticketId"])["assignee_id"] == bob["id"]
    # A later rule without an assignment keeps the earlier one.
    other = create(http, tenant, title="Screen broken")
    assert other["assignee"] == public(ann)
    assert stored(db, other["ticketId"])["assignee_id"] == ann["id"]


def test_disabled_rules_are_skipped_and_still_listed(http, db, tenant):
    off = rule(db, tenant.id, "Old", position=10, addTags=["old"])
    on = rule(db, tenant.id, "New", position=20, addTags=["new"])
    routed(db, create(http, tenant), off, ["old"])

    disable(db, tenant.id, off["id"])
    routed(db, create(http, tenant), on, ["new"])
    listed = {r["id"]: r["enabled"] for r in scoped(db, tenant.id, list_rules)}
    assert listed == {off["id"]: False, on["id"]: True}


def test_with_every_rule_disabled_it_is_as_if_there_were_no_rules(http, db, tenant):
    r = rule(db, tenant.id, "Only", addTags=["only"])
    disable(db, tenant.id, r["id"])
    response = create(http, tenant)
    assert response["routing"] == {"ruleId": None, "reason": None}
    row = stored(db, response["ticketId"])
    assert (row["routed_by_rule_id"], row["routing_reason"], row["tags"]) == (None, None, [])


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "actions", "words"),
    [
        ({"country": ["FR"]}, {"addTags": ["x"]}, ["Unknown condition 'country'", "ticketCategory", "keywords"]),
        ({"priority": ["critical"]}, {"addTags": ["x"]}, ["priority", "low, medium, high, urgent"]),
        ({"keywords": []}, {"addTags": ["x"]}, ["keywords", "non-empty list"]),
        ({"keywords": ["  "]}, {"addTags": ["x"]}, ["keywords", "non-empty list"]),
        ({"ticketCategory": [3]}, {"addTags": ["x"]}, ["ticketCategory"]),
        ({}, {}, ["at least one action"]),
        ({}, {"assignMember": "mem_x", "assignTeam": "team_x"}, ["member or to a team, not both"]),
        ({}, {"setPriority": "critical"}, ["setPriority", "low, medium, high, urgent"]),
        ({}, {"addTags": "vip"}, ["addTags", "list"]),
        ({}, {"addTags": ["ok", ""]}, ["addTags"]),
        ({}, {"notifyEmail": "a@b.c"}, ["Unknown action 'notifyEmail'"]),
        ({"emailDomain": ["not a domain!"]}, {"addTags": ["x"]}, ["emailDomain", "example.com", "'not a domain!'"]),
        ({"emailDomain": ["acme.com, globex.com"]}, {"addTags": ["x"]}, ["emailDomain", "'acme.com, globex.com'"]),
        ({}, {"slackChannel": "vip channel"}, ["slackChannel", "#support", "no spaces"]),
        ({}, {"slackChannel": ["#vip"]}, ["slackChannel"]),
    ],
    ids=["unknown-condition", "bad-priority", "empty-list", "blank-value", "not-a-string", "no-actions",
         "member-and-team", "bad-set-priority", "tags-not-list", "blank-tag", "unknown-action",
         "bad-domain", "two-domains-in-one", "channel-with-space", "channel-not-a-string"],
)
def test_invalid_rules_are_refused_with_a_clear_message(db, tenant, conditions, actions, words):
    with pytest.raises(InvalidRequest) as error:
        scoped(db, tenant.id, add_rule, name="Bad", conditions=conditions, actions=actions)
    for word in words:
        assert word.lower() in error.value.message.lower(), (word, error.value.message)
    assert count(db, "select count(*) from routing_rules where organization_id = :o", o=tenant.id) == 0


def test_an_over_long_rule_name_is_refused_on_every_database(db, tenant):
    with pytest.raises(InvalidRequest, match="255"):
        scoped(db, tenant.id, add_rule, name="x" * 300, conditions={}, actions={"addTags": ["x"]})


def test_a_rule_needs_a_name(db, tenant):
    with pytest.raises(InvalidRequest, match="name"):
        scoped(db, tenant.id, add_rule, name="   ", conditions={}, actions={"addTags": ["x"]})


def test_a_single_string_condition_is_taken_as_a_list(http, db, tenant):
    r = rule(db, tenant.id, "Billing", {"ticketCategory": "  Billing "}, addTags=[" billing "])
    assert r["conditions"] == {"ticketCategory": ["Billing"]}
    routed(db, create(http, tenant, category="billing"), r, ["billing"])

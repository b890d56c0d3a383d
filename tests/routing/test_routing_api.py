"""Routing as a client of createTicket sees it: actions, teams, the reason, and tenant isolation."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from telemetron.errors import NotFound
from telemetron.notifications.settings import add_endpoint
from telemetron.routing.service import (
    add_rule,
    add_team,
    disable_rule,
    list_rules,
    list_teams,
)
from tests.support.databases import count
from tests.support.routing import (
    create,
    member,
    outbox_payloads,
    outbox_targets,
    public,
    rule,
    scoped,
    set_available,
    set_ticket,
    stored,
    team,
    team_cursor,
    use_slack,
)


@pytest.fixture
def ann(db, tenant):
    return member(db, tenant.id, "Ann Agent")


# --- the answer and the stored reason -----------------------------------------------------------


def test_without_rules_routing_is_empty(http, db, tenant):
    response = create(http, tenant, category="Billing")
    assert response["assignee"] is None
    assert response["routing"] == {"ruleId": None, "reason": None}
    row = stored(db, response["ticketId"])
    assert (row["assignee_id"], row["routed_by_rule_id"], row["routing_reason"], row["tags"]) == (None, None, None, [])
    assert row["priority"] == "medium"


def test_the_reason_names_the_rule_why_and_what_it_did(http, db, tenant):
    r = rule(db, tenant.id, "Billing desk", {"ticketCategory": ["billing"]}, setPriority="high", addTags=["billing"],
             slackChannel="#billing")
    response = create(http, tenant, category="Billing")
    row = stored(db, response["ticketId"])
    assert row["routed_by_rule_id"] == r["id"]
    assert row["routing_reason"] == (
        "rule 'Billing desk' matched because ticket category is Billing; priority set to high, tagged billing, notify #billing"
    )
    assert response["routing"] == {"ruleId": r["id"], "reason": row["routing_reason"]}


def test_rules_that_match_nothing_say_so(http, db, tenant):
    rule(db, tenant.id, "Billing desk", {"ticketCategory": ["billing"]}, addTags=["billing"])
    response = create(http, tenant, category="Battery")
    assert response["routing"] == {"ruleId": None, "reason": "no routing rule matched"}
    assert stored(db, response["ticketId"])["routing_reason"] == "no routing rule matched"


# --- actions ------------------------------------------------------------------------------------


def test_assign_member_shows_and_stores_the_assignee(http, db, tenant, ann):
    r = rule(db, tenant.id, "Billing to Ann", {"ticketCategory": ["Billing"]}, assignMember=ann["id"])
    response = create(http, tenant, category="billing")
    assert response["assignee"] == {"id": ann["id"], "email": ann["email"], "name": "Ann Agent"}
    row = stored(db, response["ticketId"])
    assert row["assignee_id"] == ann["id"]
    assert row["routed_by_rule_id"] == r["id"]
    assert row["routing_reason"] == "rule 'Billing to Ann' matched because ticket category is Billing; assigned to Ann Agent"
    assert response["routing"]["reason"] == row["routing_reason"]


def test_set_priority_changes_the_stored_priority_and_the_notifications(http, db, tenant):
    use_slack(db, tenant.id)
    endpoint = scoped(db, tenant.id, add_endpoint, url="http://127.0.0.1:9/hook")
    rule(db, tenant.id, "Outages are urgent", {"keywords": ["outage"]}, setPriority="urgent", addTags=["outage", "sla"])

    response = create(http, tenant, title="Outage in building 4", priority="low")
    row = stored(db, response["ticketId"])
    assert row["priority"] == "urgent"
    assert row["tags"] == ["outage", "sla"]
    [slack] = outbox_payloads(db, response["ticketId"], "slack")
    assert slack["text"].startswith("New ticket [urgent]: Outage in building 4")
    [hook] = outbox_payloads(db, response["ticketId"], "webhook")
    assert hook["ticket"]["priority"] == "urgent"
    assert hook["ticket"]["tags"] == ["outage", "sla"]
    assert outbox_targets(db, response["ticketId"]) == [("slack", None), ("webhook", endpoint["id"])]
    assert count(db, "select count(*) from outbox where ticket_id = :t", t=response["ticketId"]) == 1  # one event row

    untouched = create(http, tenant, title="Screen broken", priority="low")
    assert stored(db, untouched["ticketId"])["priority"] == "low"


def test_tags_are_stored_as_a_list(http, db, tenant):
    rule(db, tenant.id, "Tagger", addTags=["vip", "billing", "vip"])
    response = create(http, tenant)
    assert stored(db, response["ticketId"])["tags"] == ["vip", "billing"]


def test_slack_channel_goes_into_the_slack_message(http, db, tenant):
    use_slack(db, tenant.id)
    rule(db, tenant.id, "VIP", {"emailDomain": ["bigcorp.com"]}, slackChannel="#vip")

    vip = create(http, tenant, customerEmail="boss@bigcorp.com")
    [message] = outbox_payloads(db, vip["ticketId"])
    assert message["channel"] == "#vip"

    other = create(http, tenant, customerEmail="someone@example.com")
    [message] = outbox_payloads(db, other["ticketId"])
    assert "channel" not in message  # the webhook's own channel


def test_the_rules_slack_channel_also_gets_the_tickets_replies_and_status_changes(http, db, tenant):
    use_slack(db, tenant.id)
    rule(db, tenant.id, "VIP", {"emailDomain": ["bigcorp.com"]}, slackChannel="#vip")
    vip = create(http, tenant, customerEmail="boss@bigcorp.com")["ticketId"]
    other = create(http, tenant, customerEmail="someone@example.com")["ticketId"]
    for ticket_id in (vip, other):
        for path, body in (("updateTicket", {"status": "in_progress"}),
                           ("addMessage", {"role": "customer", "content": "Any news?"})):
            response = http.post(f"/api/ext-v1/ticket/{path}", headers=tenant.headers,
                                 json={"ticketId": ticket_id, **body})
            assert response.status_code == 200, response.text

    assert [m.get("channel") for m in outbox_payloads(db, vip)] == ["#vip", "#vip", "#vip"]
    assert [m.get("channel") for m in outbox_payloads(db, other)] == [None, None, None]


def test_slack_channel_without_slack_configured_sends_nothing(http, db, tenant):
    rule(db, tenant.id, "VIP", slackChannel="#vip")
    response = create(http, tenant)
    assert outbox_payloads(db, response["ticketId"]) == []
    assert "notify #vip" in stored(db, response["ticketId"])["routing_reason"]


# --- teams --------------------------------------------------------------------------------------


def _team_of(db, tenant, n: int, strategy: str, name: str = "Support") -> tuple[list[dict], dict, dict]:
    people = [member(db, tenant.id, f"Agent {i}") for i in range(n)]
    t = team(db, tenant.id, name, [p["id"] for p in people], strategy)
    r = rule(db, tenant.id, f"All to {name}", assignTeam=t["id"])
    return people, t, r


def _assign(http, db, tenant, **fields) -> str:
    response = create(http, tenant, **fields)
    row = stored(db, response["ticketId"])
    assert response["assignee"] is not None and response["assignee"]["id"] == row["assignee_id"]
    return row["assignee_id"]


def test_round_robin_cycles_through_the_available_members_in_order(http, db, tenant):
    people, t, r = _team_of(db, tenant, 3, "round_robin")
    by_id = {p["id"]: p for p in people}

    first = create(http, tenant)
    row = stored(db, first["ticketId"])
    who = by_id[row["assignee_id"]]
    assert first["assignee"] == public(who)
    assert row["routed_by_rule_id"] == r["id"]
    assert f"assigned to {who['name']} of team Support (round-robin)" in row["routing_reason"]

    turns = [row["assignee_id"]] + [_assign(http, db, tenant) for _ in range(5)]
    assert sorted(turns[:3]) == sorted(by_id)  # each member once...
    assert turns[3:] == turns[:3]  # ...then again, in the same order
    a, b, c = turns[:3]

    set_available(db, a, False)  # cursor is on c: a's turn is next, and is skipped
    assert [_assign(http, db, tenant) for _ in range(3)] == [b, c, b]
    set_available(db, a, True)
    assert [_assign(http, db, tenant) for _ in range(3)] == [c, a, b]


def test_concurrent_tickets_take_turns_in_round_robin(live_server, db, tenant):
    people, t, _ = _team_of(db, tenant, 3, "round_robin")

    def one(i: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            return client.post("/api/ext-v1/ticket/createTicket", headers=tenant.headers,
                               json={"title": f"Ticket {i}", "customerEmail": f"c{i}@example.com"})

    with ThreadPoolExecutor(9) as pool:
        responses = list(pool.map(one, range(9)))
    assert [r.status_code for r in responses] == [200] * 9, [r.text for r in responses if r.status_code != 200]
    turns = Counter(stored(db, r.json()["ticketId"])["assignee_id"] for r in responses)
    assert turns == {p["id"]: 3 for p in people}


def test_least_open_picks_the_member_with_fewest_unresolved_tickets(http, db, tenant):
    people = [member(db, tenant.id, name) for name in ("Busy", "Idle", "Some")]
    busy, idle, some = people
    # Tickets created before any rule, then given to members by hand (SQL).
    for who, statuses in ((busy, ["open", "waiting_for_customer"]), (idle, ["resolved"] * 3), (some, ["in_progress"])):
        for status in statuses:
            set_ticket(db, create(http, tenant)["ticketId"], assignee_id=who["id"], status=status)
    t = team(db, tenant.id, "Desk", [p["id"] for p in people], "least_open")
    r = rule(db, tenant.id, "To the desk", assignTeam=t["id"])

    response = create(http, tenant)
    row = stored(db, response["ticketId"])
    assert response["assignee"] == public(idle)
    assert row["assignee_id"] == idle["id"]
    assert row["routed_by_rule_id"] == r["id"]
    assert "assigned to Idle of team Desk (0 open tickets, the fewest)" in row["routing_reason"]

    # Idle and Some have one each now, Busy two: the next two go to Idle and Some.
    assert {_assign(http, db, tenant), _assign(http, db, tenant)} == {idle["id"], some["id"]}
    # Resolving Busy's tickets makes Busy the least loaded.
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"update tickets set status = 'resolved' where assignee_id = '{busy['id']}'")
    assert _assign(http, db, tenant) == busy["id"]


def test_least_open_skips_unavailable_members(http, db, tenant):
    people, t, _ = _team_of(db, tenant, 2, "least_open")
    free, away = people
    set_ticket(db, create(http, tenant, title="old")["ticketId"], assignee_id=free["id"])
    set_available(db, away["id"], False)  # fewer tickets, but away
    assert _assign(http, db, tenant) == free["id"]


def test_a_team_without_available_members_leaves_the_ticket_unassigned(http, db, tenant):
    people, t, r = _team_of(db, tenant, 2, "round_robin", name="Night shift")
    for p in people:
        set_available(db, p["id"], False)

    response = create(http, tenant)
    assert response["assignee"] is None
    row = stored(db, response["ticketId"])
    assert row["assignee_id"] is None
    assert row["routed_by_rule_id"] == r["id"]
    assert "no available member in team Night shift: not assigned" in row["routing_reason"]
    assert response["routing"] == {"ruleId": r["id"], "reason": row["routing_reason"]}
    assert team_cursor(db, t["id"]) is None


def test_an_empty_least_open_team_leaves_the_ticket_unassigned(http, db, tenant):
    t = team(db, tenant.id, "Nobody", [], "least_open")
    rule(db, tenant.id, "To nobody", assignTeam=t["id"], addTags=["queued"])
    response = create(http, tenant)
    row = stored(db, response["ticketId"])
    assert (response["assignee"], row["assignee_id"], row["tags"]) == (None, None, ["queued"])
    assert "no available member in team Nobody: not assigned" in row["routing_reason"]


def test_an_idempotent_replay_shows_the_same_routing_and_takes_no_turn(http, db, tenant):
    people, t, _ = _team_of(db, tenant, 2, "round_robin")
    headers = {**tenant.headers, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com"}
    first = http.post("/api/ext-v1/ticket/createTicket", json=body, headers=headers)
    again = http.post("/api/ext-v1/ticket/createTicket", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["assignee"] == first.json()["assignee"]
    assert again.json()["routing"] == first.json()["routing"]
    nxt = create(http, tenant)["assignee"]["id"]
    assert nxt != first.json()["assignee"]["id"]  # the replay did not move the cursor back to the first


def test_teams_are_listed_with_their_strategy(db, tenant, ann):
    team(db, tenant.id, "B team", [ann["id"]], "least_open")
    team(db, tenant.id, "A team", [])
    assert [(t["name"], t["strategy"]) for t in scoped(db, tenant.id, list_teams)] == [("A team", "round_robin"), ("B team", "least_open")]


# --- isolation ----------------------------------------------------------------------------------


def test_a_rule_of_one_organization_never_routes_anothers_tickets(http, db, tenant, other_tenant):
    use_slack(db, tenant.id)
    use_slack(db, other_tenant.id)
    r = rule(db, tenant.id, "A's catch-all", addTags=["a-only"], setPriority="urgent", slackChannel="#a-team")

    mine = create(http, tenant)
    assert stored(db, mine["ticketId"])["routed_by_rule_id"] == r["id"]

    theirs = create(http, other_tenant)
    assert theirs["routing"] == {"ruleId": None, "reason": None}
    row = stored(db, theirs["ticketId"])
    assert (row["routed_by_rule_id"], row["tags"], row["priority"]) == (None, [], "medium")
    [message] = outbox_payloads(db, theirs["ticketId"])
    assert "channel" not in message


def test_rules_and_teams_cannot_name_another_organizations_member_or_team(db, tenant, other_tenant, ann):
    their_team = team(db, tenant.id, "Theirs", [ann["id"]])

    with pytest.raises(NotFound) as error:
        scoped(db, other_tenant.id, add_rule, name="Steal", conditions={}, actions={"assignMember": ann["id"]})
    assert error.value.code == "member_not_found" and ann["id"] in error.value.message
    with pytest.raises(NotFound) as error:
        scoped(db, other_tenant.id, add_rule, name="Steal", conditions={}, actions={"assignTeam": their_team["id"]})
    assert error.value.code == "team_not_found"
    with pytest.raises(NotFound) as error:
        scoped(db, other_tenant.id, add_team, name="Poachers", member_ids=[ann["id"]])
    assert error.value.code == "member_not_found"

    assert scoped(db, other_tenant.id, list_rules) == []
    assert scoped(db, other_tenant.id, list_teams) == []


def test_an_organization_cannot_disable_anothers_rule(http, db, tenant, other_tenant):
    r = rule(db, tenant.id, "Mine", addTags=["mine"])
    with pytest.raises(NotFound) as error:
        scoped(db, other_tenant.id, disable_rule, r["id"])
    assert error.value.code == "rule_not_found"
    assert [x["enabled"] for x in scoped(db, tenant.id, list_rules)] == [True]
    assert stored(db, create(http, tenant)["ticketId"])["tags"] == ["mine"]


def test_unknown_member_or_team_ids_are_not_found(db, tenant):
    with pytest.raises(NotFound, match="mem_000000000000"):
        scoped(db, tenant.id, add_rule, name="x", conditions={}, actions={"assignMember": "mem_000000000000"})
    with pytest.raises(NotFound, match="team_000000000000"):
        scoped(db, tenant.id, add_rule, name="x", conditions={}, actions={"assignTeam": "team_000000000000"})
    assert count(db, "select count(*) from routing_rules where organization_id = :o", o=tenant.id) == 0



def test_dry_run_over_the_api_creates_nothing(http, db, tenant):
    from telemetron.db.scoped import Scoped
    from telemetron.members.service import add_member
    from telemetron.routing.service import add_rule

    def setup(conn):
        scoped = Scoped(db, conn, tenant.id)
        member = add_member(scoped, email="ann@example.com", name="Ann")
        add_rule(scoped, name="Billing to Ann", conditions={"ticketCategory": ["Billing"]}, actions={"assignMember": member["id"]})

    db.run_sync(setup)
    body = {"title": "Refund please", "customerEmail": "dry@example.com", "category": "billing"}
    response = http.post("/api/ext-v1/ticket/createTicket?dryRun=true", headers=tenant.headers, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["dryRun"] is True and result["category"] == "Billing"
    assert result["assignee"]["name"] == "Ann" and "Billing to Ann" in result["routing"]["reason"]
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 0
    assert count(db, "select count(*) from customers where organization_id = :o", o=tenant.id) == 0
    bad = http.post("/api/ext-v1/ticket/createTicket?dryRun=true", headers=tenant.headers, json={"title": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "missing_customer"
    assert http.post("/api/ext-v1/ticket/createTicket?dryRun=true", json=body).status_code == 401


@pytest.mark.parametrize("query", ["dryRun=yes", "dryRun=on", "dryRun=", "dryRun=true&dryRun=false"])
def test_a_dry_run_flag_that_cannot_be_read_is_a_400_and_creates_nothing(http, db, tenant, query):
    body = {"title": "Refund please", "customerEmail": "dry@example.com"}
    response = http.post(f"/api/ext-v1/ticket/createTicket?{query}", headers=tenant.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_dry_run" and "dryRun must be true or false" in response.json()["error"]
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 0
    assert http.post(f"/api/ext-v1/ticket/createTicket?{query}", json=body).status_code == 401  # the key first


@pytest.mark.parametrize("name", ["dry_run", "dryrun", "DryRun"])
def test_a_dry_run_spelt_otherwise_is_still_a_dry_run(http, db, tenant, name):
    body = {"title": "Refund please", "customerEmail": "dry@example.com"}
    response = http.post(f"/api/ext-v1/ticket/createTicket?{name}=true", headers=tenant.headers, json=body)
    assert response.status_code == 200 and response.json()["dryRun"] is True
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 0


def test_dry_run_false_creates_the_ticket(http, db, tenant):
    body = {"title": "Refund please", "customerEmail": "dry@example.com"}
    response = http.post("/api/ext-v1/ticket/createTicket?dryRun=FALSE", headers=tenant.headers, json=body)
    assert response.status_code == 200 and response.json()["message"] == "Ticket created successfully"

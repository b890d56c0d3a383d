"""The admins' routing settings in the web app: rules added, edited, reordered, disabled and
tried on a sample ticket, and teams, through the same functions as ``telemetron rules``/``team``."""

from __future__ import annotations

import re

from tests.support.cli import as_json
from tests.support.http import create_ticket
from tests.support.web import Browser


def rule_ids(cli, org_id: str) -> list[tuple[str, str, bool]]:
    return [(r["id"], r["name"], r["enabled"]) for r in as_json(cli("rules", "list", "--org", org_id, "--json"))]


def test_an_admin_adds_edits_reorders_and_disables_rules(admin, org, http, cli):
    added = admin.submit("/admin/routing", "/admin/routing/rules", {
        "name": "WiFi to Sam", "cond_ticketCategory": "Connectivity", "cond_keywords": "wifi, router",
        "assignMember": org.agent.id, "addTags": "network, wifi"})
    assert added.status_code == 303 and "done=rule-added" in added.headers["location"]
    admin.submit("/admin/routing", "/admin/routing/rules", {"name": "Urgent first", "cond_priority": "urgent",
                                                           "setPriority": "urgent", "continue_matching": "on"})
    rules = as_json(cli("rules", "list", "--org", org.id, "--json"))
    assert [r["name"] for r in rules] == ["WiFi to Sam", "Urgent first"]
    assert rules[0]["conditions"] == {"ticketCategory": ["Connectivity"], "keywords": ["wifi", "router"]}
    assert rules[0]["actions"] == {"assignMember": org.agent.id, "addTags": ["network", "wifi"]}
    assert rules[1]["continue"] is True

    wifi, urgent = rules[0]["id"], rules[1]["id"]
    admin.submit("/admin/routing", f"/admin/routing/rules/{urgent}/move", {"direction": "up"})
    assert [name for _, name, _ in rule_ids(cli, org.id)] == ["Urgent first", "WiFi to Sam"]

    edit = admin.get(f"/admin/routing/rules/{wifi}")
    assert 'value="Connectivity"' in edit.text and 'value="wifi, router"' in edit.text
    saved = admin.submit(f"/admin/routing/rules/{wifi}", f"/admin/routing/rules/{wifi}", {
        "name": "WiFi to Sam", "cond_keywords": "wifi", "assignMember": org.agent.id})
    assert saved.status_code == 303
    ticket = create_ticket(http, org.tenant, title="My wifi is down")
    assert ticket["assignee"]["id"] == org.agent.id  # the edited rule routes new tickets at once

    admin.submit("/admin/routing", f"/admin/routing/rules/{wifi}/enabled", {"enabled": "no"})
    assert ("WiFi to Sam", False) in [(n, e) for _, n, e in rule_ids(cli, org.id)]
    assert create_ticket(http, org.tenant, title="Another wifi problem")["assignee"] is None
    admin.submit("/admin/routing", f"/admin/routing/rules/{wifi}/enabled", {"enabled": "yes"})
    assert create_ticket(http, org.tenant, title="Third wifi problem")["assignee"]["id"] == org.agent.id


def test_a_bad_rule_is_a_message_and_keeps_what_was_typed(admin, org, other_org):
    bad = admin.submit("/admin/routing", "/admin/routing/rules", {"name": "Typo", "cond_ticketCategory": "Conectivity",
                                                                  "setPriority": "high"})
    assert bad.status_code == 400 and "No category &#39;Conectivity&#39;" in bad.text
    assert 'value="Typo"' in bad.text
    nothing = admin.submit("/admin/routing", "/admin/routing/rules", {"name": "Does nothing"})
    assert nothing.status_code == 400 and "at least one action" in nothing.text
    theirs = admin.submit("/admin/routing", "/admin/routing/rules", {"name": "x", "assignMember": other_org.agent.id})
    assert theirs.status_code == 404
    assert admin.get("/admin/routing/rules/rule_000000000000").status_code == 404


def test_the_dry_run_says_what_a_sample_ticket_would_get_and_creates_nothing(admin, org, http, cli):
    cli("rules", "add", "--org", org.id, "Billing to Sam", "--category", "Billing", "--assign-member", org.agent.id)
    result = admin.submit("/admin/routing", "/admin/routing/dry-run", {
        "title": "Charged twice", "customerEmail": "payer@example.com", "category": "Billing", "priority": "high"})
    assert result.status_code == 200
    shown = result.text[result.text.index('id="dry-run-result"'):]
    assert "Sam Agent" in shown and "rule &#39;Billing to Sam&#39; matched" in shown
    listed = http.post("/api/ext-v1/ticket/queryTickets", headers=org.tenant.headers, json={})
    assert listed.json()["tickets"] == []
    missing = admin.submit("/admin/routing", "/admin/routing/dry-run", {"title": "", "customerEmail": "a@example.com"})
    assert missing.status_code == 400 and "Dry run:" in missing.text


def test_teams_are_added_and_changed_and_rules_assign_to_them(admin, org, http, cli):
    added = admin.submit("/admin/teams", "/admin/teams", {"name": "Support", "strategy": "round_robin",
                                                          "member": [org.agent.id]})
    assert added.status_code == 303
    team = as_json(cli("team", "list", "--org", org.id, "--json"))[0]
    assert (team["name"], team["strategy"]) == ("Support", "round_robin")
    assert admin.submit("/admin/teams", "/admin/teams", {"name": "Support"}).status_code == 409
    saved = admin.submit("/admin/teams", f"/admin/teams/{team['id']}", {"strategy": "least_open",
                                                                       "member": [org.admin.id]})
    assert saved.status_code == 303
    page = admin.get("/admin/teams").text
    assert re.search(rf'value="{org.admin.id}" checked', page) and not re.search(rf'value="{org.agent.id}" checked', page)
    admin.submit("/admin/routing", "/admin/routing/rules", {"name": "All to Support", "assignTeam": team["id"]})
    assert create_ticket(http, org.tenant, title="Anything")["assignee"]["id"] == org.admin.id


def test_an_agent_cannot_change_routing(client, org, live_server):
    with Browser(base_url=live_server.url, follow_redirects=False) as agent:
        agent.sign_in(org.agent.email)
        csrf = re.search(r'name="csrf" value="([^"]+)"', agent.get("/tickets").text).group(1)
        response = agent.post("/admin/routing/rules", data={"name": "Sneaky", "setPriority": "low", "csrf": csrf})
        assert response.status_code == 403

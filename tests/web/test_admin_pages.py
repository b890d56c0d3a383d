"""The admins' pages through the real server: categories, members, API keys, routing and
notifications, and that agents cannot reach any of them."""

from __future__ import annotations

import re

import pytest

from tests.support.databases import count
from tests.support.http import create_ticket
from tests.support.web import PASSWORD, Browser, csrf_of

ADMIN_PAGES = ["/admin", "/admin/categories", "/admin/members", "/admin/api-keys", "/admin/routing",
               "/admin/notifications", "/admin/teams", "/admin/macros"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_agent_gets_a_403_page_on_every_admin_page(agent, path):
    response = agent.get(path)
    assert response.status_code == 403
    assert "This page is for the organization&#39;s admins" in response.text
    assert "Sam Agent" in response.text and 'href="/tickets"' in response.text  # the agent's own menu
    assert 'href="/admin/members"' not in response.text  # without admin links


def test_an_agent_cannot_post_to_admin_forms(agent, org, db):
    csrf = re.search(r'name="csrf" value="([^"]+)"', agent.get("/tickets").text).group(1)
    for action, data in (("/admin/categories", {"name": "Sneaky"}),
                         ("/admin/members", {"email": "sneaky@example.com", "role": "admin", "password": "x" * 12}),
                         (f"/admin/members/{org.agent.id}", {"role": "admin"}),
                         ("/admin/api-keys", {"name": "sneaky"})):
        response = agent.post(action, data={**data, "csrf": csrf})
        assert response.status_code == 403, action
    assert count(db, "select count(*) from members where organization_id = :o and role = 'admin'", o=org.id) == 1
    assert count(db, "select count(*) from categories where organization_id = :o and name = 'Sneaky'", o=org.id) == 0


def test_admin_menu_and_landing(admin):
    assert admin.get("/admin").headers["location"] == "/admin/categories"
    page = admin.get("/tickets")
    for path in ADMIN_PAGES[1:]:
        assert f'href="{path}"' in page.text


def test_admin_adds_a_category_that_the_api_then_accepts(admin, org, http):
    response = admin.submit("/admin/categories", "/admin/categories", {
        "name": "Firmware", "description": "Updates and firmware versions", "examples": "update failed\n\nstuck at 50%",
        "ai_enabled": "on"})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Category added." in page.text and "Firmware" in page.text
    created = create_ticket(http, org.tenant, category="firmware")
    assert (created["category"], created["categorySource"]) == ("Firmware", "provided")


def test_category_form_errors_are_messages(admin):
    response = admin.submit("/admin/categories", "/admin/categories", {"name": "Connectivity"})
    assert response.status_code == 409
    assert "already exists" in response.text
    assert 'value="Connectivity"' in response.text  # what was typed stays
    response = admin.submit("/admin/categories", "/admin/categories", {"name": "Odd", "auto_resolve": "on"})
    assert response.status_code == 400
    assert "An auto-resolve category must be AI-enabled" in response.text
    response = admin.submit("/admin/categories", "/admin/categories", {"name": "  "})
    assert response.status_code == 400 and "must not be empty" in response.text


def test_admin_edits_a_categorys_description_examples_and_flags(admin, org, http, db):
    page = admin.get("/admin/categories")
    path = re.search(r'href="(/admin/categories/cat_[0-9a-f]+)">Battery<', page.text).group(1)
    version = count(db, "select config_version from organizations where id = :o", o=org.id)
    response = admin.submit(path, path, {"description": "Charging and battery life",
                                         "examples": "won't charge\nbattery dies fast", "active": "on"})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Category saved." in page.text
    assert "Charging and battery life" in page.text and "battery dies fast" in page.text
    assert count(db, "select config_version from organizations where id = :o", o=org.id) > version
    # Inactive: no longer given to tickets.
    admin.submit(path, path, {"description": "Charging and battery life"})
    assert create_ticket(http, org.tenant, category="Battery")["categorySource"] == "none"
    response = admin.submit(path, path, {"description": "Typed, not saved", "auto_resolve": "on", "active": "on"})
    assert response.status_code == 400 and "must be AI-enabled" in response.text
    assert "Typed, not saved" in response.text  # what the admin typed is still in the form
    assert "Typed, not saved" not in admin.get(path).text


def test_another_organizations_category_member_or_key_is_a_404(admin, other_org, db, http):
    other = Browser(base_url=str(admin.base_url), follow_redirects=False)
    other.sign_in(other_org.admin.email)
    path = re.search(r'href="(/admin/categories/cat_[0-9a-f]+)"', other.get("/admin/categories").text).group(1)
    other.close()
    assert admin.get(path).status_code == 404
    response = admin.submit("/admin/categories", path, {"description": "taken over"})
    assert response.status_code == 404
    for data in ({"role": "admin"}, {"available": "no"}, {"password": "taken over password"}):
        response = admin.submit("/admin/members", f"/admin/members/{other_org.agent.id}", data)
        assert response.status_code == 404, data
    assert count(db, "select count(*) from members where id = :m and role = 'agent' and available = :t",
                 m=other_org.agent.id, t=True) == 1
    response = admin.submit("/admin/api-keys", f"/admin/api-keys/{other_org.tenant.api_key_id}/revoke", {})
    assert response.status_code == 404
    body = {"title": "still works", "customerEmail": "a@example.com"}
    assert http.post("/api/ext-v1/ticket/createTicket", json=body, headers=other_org.tenant.headers).status_code == 200


def test_admin_adds_a_member_who_can_then_sign_in(admin, org, live_server):
    response = admin.submit("/admin/members", "/admin/members", {
        "email": "New.Agent@Example.com", "name": "New Agent", "role": "agent", "password": "long enough password"})
    assert response.status_code == 303
    page = admin.get(response.headers["location"])
    assert "Member added." in page.text and "new.agent@example.com" in page.text
    with Browser(base_url=live_server.url, follow_redirects=False) as newcomer:
        assert newcomer.sign_in("new.agent@example.com", "long enough password").status_code == 303
        assert "New Agent" in newcomer.get("/tickets").text


def test_member_form_errors_are_messages(admin, org):
    response = admin.submit("/admin/members", "/admin/members", {"email": org.agent.email, "role": "agent"})
    assert response.status_code == 409 and "already exists" in response.text
    response = admin.submit("/admin/members", "/admin/members", {"email": "x@example.com", "role": "agent", "password": "short"})
    assert response.status_code == 400 and "at least 12 characters" in response.text
    for common in ("aaaaaaaaaaaa", "qwertyuiop12", "x@example.com!"):
        response = admin.submit("/admin/members", "/admin/members", {"email": "x@example.com", "role": "agent",
                                                                     "password": common})
        assert response.status_code == 400 and "too common or easy to guess" in response.text, common
    response = admin.submit("/admin/members", "/admin/members", {"email": "x@example.com", "role": "boss"})
    assert response.status_code == 400 and "Invalid role" in response.text
    response = admin.submit("/admin/members", "/admin/members", {"email": "not an email", "role": "agent"})
    assert response.status_code == 400


def test_admin_sets_role_and_availability_but_cannot_demote_themself(admin, org, db, live_server):
    response = admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"role": "admin"})
    assert response.status_code == 303
    response = admin.submit("/admin/members", f"/admin/members/{org.agent.id}", {"available": "no"})
    assert response.status_code == 303
    assert count(db, "select count(*) from members where id = :m and role = 'admin' and available = :f",
                 m=org.agent.id, f=False) == 1
    with Browser(base_url=live_server.url, follow_redirects=False) as promoted:
        promoted.sign_in(org.agent.email, PASSWORD)
        assert promoted.get("/admin/members").status_code == 200
    response = admin.submit("/admin/members", f"/admin/members/{org.admin.id}", {"role": "agent"})
    assert response.status_code == 400
    assert "You cannot remove your own admin role" in response.text
    assert admin.submit("/admin/members", "/admin/members/mem_000000000000", {"role": "agent"}).status_code == 404


def test_api_keys_are_shown_once_work_and_can_be_revoked(admin, org, http):
    response = admin.submit("/admin/api-keys", "/admin/api-keys", {"name": "chatbot"})
    assert response.status_code == 201
    key = re.search(r'<code id="new-key">(tlm_[^<]+)</code>', response.text).group(1)
    assert "shown only this once" in response.text
    assert key not in admin.get("/admin/api-keys").text  # never again
    assert "chatbot" in admin.get("/admin/api-keys").text
    headers = {"x-api-key": key}
    body = {"title": "From the chatbot", "customerEmail": "a@example.com"}
    assert http.post("/api/ext-v1/ticket/createTicket", json=body, headers=headers).status_code == 200
    page = admin.get("/admin/api-keys")
    key_id = re.search(r'<tr id="key-(key_[0-9a-f]+)">\s*<td>chatbot</td>', page.text).group(1)
    response = admin.submit("/admin/api-keys", f"/admin/api-keys/{key_id}/revoke", {})
    assert response.status_code == 303
    assert "API key revoked" in admin.get(response.headers["location"]).text
    assert http.post("/api/ext-v1/ticket/createTicket", json=body, headers=headers).status_code == 401
    assert admin.submit("/admin/api-keys", f"/admin/api-keys/{key_id}/revoke", {}).status_code == 404
    response = admin.submit("/admin/api-keys", "/admin/api-keys", {"name": ""})
    assert response.status_code == 400 and "must not be empty" in response.text


def test_routing_and_notifications_are_shown(admin, org, db, cli):
    cli("rules", "add", "--org", org.id, "WiFi to Sam", "--category", "Connectivity", "--keyword", "wifi",
        "--assign-member", org.agent.id, "--tag", "network")
    cli("slack", "set", "--org", org.id, "--webhook-url", "https://hooks.slack.com/services/T000/B000/secretsecret",
        "--public-url", "https://help.example.com")
    page = admin.get("/admin/routing")
    assert page.status_code == 200
    assert "WiFi to Sam" in page.text and "assign to Sam Agent" in page.text and "network" in page.text
    rules = page.text[page.text.index('id="rules"'):page.text.index("</table>")]
    assert "ticket category: Connectivity" in rules and "ticketCategory" not in rules  # words, not keys
    page = admin.get("/admin/notifications")
    assert page.status_code == 200
    assert "https://help.example.com" in page.text
    assert "secretsecret" not in page.text and "hooks.slack.com" in page.text


def test_sending_the_create_key_form_again_creates_no_second_key(admin, org, db):
    page = admin.get("/admin/api-keys")
    form = {"name": "zapier", "csrf": csrf_of(page.text), "once": re.search(r'name="once" value="([^"]+)"', page.text).group(1)}
    first = admin.post("/admin/api-keys", data=form)
    assert first.status_code == 201 and "tlm_" in first.text
    again = admin.post("/admin/api-keys", data=form)  # a reload, or Back and submit
    assert again.status_code == 200 and "This form was sent before" in again.text
    assert '<code id="new-key">' not in again.text
    assert count(db, "select count(*) from api_keys where organization_id = :o and name = 'zapier'", o=org.id) == 1
    fresh = re.search(r'name="once" value="([^"]+)"', again.text).group(1)
    assert fresh != form["once"]  # the page it shows creates a new key
    assert admin.post("/admin/api-keys", data={**form, "once": fresh}).status_code == 201


def test_the_auto_resolve_wording_matches_what_happens_to_a_ticket_naming_the_category(admin, org, http):
    page = admin.get("/admin/categories")
    assert "whether the AI chose it (at 80% confidence or more) or the request asked for it" in page.text
    added = admin.submit("/admin/categories", "/admin/categories", {
        "name": "Already answered", "description": "Questions the FAQ answers", "ai_enabled": "on",
        "auto_resolve": "on"})
    assert added.status_code == 303
    named = create_ticket(http, org.tenant, title="Where is the FAQ?", category="Already answered")
    assert named["status"] == "resolved"  # named by the request: resolved too, as the words say

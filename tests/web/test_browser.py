"""The web app in a real browser (Debian's Chromium, driven by Playwright: see conftest.py),
against the real server, with tickets created through the real API."""

from __future__ import annotations

import re

try:
    from playwright.sync_api import expect
except ImportError:  # the ``chromium`` fixture skips (or, under CI, fails) every test, saying why
    expect = None

from tests.support.http import create_ticket, get_ticket
from tests.support.web import PASSWORD, sign_in


def test_an_agent_works_a_ticket_from_sign_in_to_sign_out(page, org, http):
    created = create_ticket(http, org.tenant, title="Hub loses WiFi every hour", priority="high",
                            messages=[{"role": "customer", "content": "Since Monday my hub loses WiFi."}])
    ticket_id = created["ticketId"]
    assert created["categorySource"] == "none"

    page.goto("/tickets")  # not signed in: the sign-in page, then back to where the agent was going
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(org.agent.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))
    expect(page.get_by_text("Sam Agent")).to_be_visible()

    # The list: the ticket is there, waiting for triage.
    row = page.get_by_role("row").filter(has_text="Hub loses WiFi every hour")
    expect(row).to_contain_text("Needs triage")
    expect(row).to_contain_text("john.doe@example.com")
    page.get_by_role("search").get_by_label("Category").select_option(label="Needs triage (none)")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Hub loses WiFi every hour")).to_be_visible()

    # The ticket: the conversation and its facts.
    page.get_by_role("link", name="Hub loses WiFi every hour").click()
    expect(page).to_have_url(re.compile(f"/tickets/{ticket_id}$"))
    expect(page.get_by_role("heading", name="Hub loses WiFi every hour")).to_be_visible()
    expect(page.locator(".role-customer")).to_contain_text("Since Monday my hub loses WiFi.")
    expect(page.locator("#priority")).to_have_text("High")

    # Reply.
    page.get_by_label("Reply to the customer").fill("Please restart the hub and tell us if it helps.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was added.")).to_be_visible()
    expect(page.locator(".role-agent")).to_have_text(re.compile("Please restart the hub and tell us if it helps."))

    # Change status and category, assign to me.
    form = page.locator("#update")
    form.get_by_label("Status").select_option(label="Waiting for customer")
    form.get_by_label("Category").select_option(label="Connectivity")
    form.get_by_label("Assignee").select_option(label="Sam Agent (me)")
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("The ticket was updated.")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Waiting for customer")
    expect(page.locator("#category")).to_contain_text("Connectivity")
    expect(page.locator("#category-source")).to_contain_text("set by an agent")
    expect(page.locator("#assignee")).to_have_text("Sam Agent")

    # The API sees what the agent did.
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert (ticket["status"], ticket["category"], ticket["categorySource"]) == (
        "waiting_for_customer", "Connectivity", "provided")
    assert ticket["assignee"]["id"] == org.agent.id
    assert [(m["role"], m["content"]) for m in ticket["messages"]] == [
        ("customer", "Since Monday my hub loses WiFi."),
        ("agent", "Please restart the hub and tell us if it helps."),
    ]

    # "Assigned to me" finds it.
    page.goto("/tickets?assignee=me")
    expect(page.get_by_role("link", name="Hub loses WiFi every hour")).to_be_visible()

    # Sign out: the pages are closed again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"/tickets/{ticket_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Please restart the hub")).to_have_count(0)


def test_a_wrong_password_gives_a_clear_message(page, org):
    sign_in(page, org.agent.email, "not my password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(org.agent.email)
    page.goto("/tickets")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_agent_cannot_open_admin_pages(page, org):
    sign_in(page, org.agent.email)
    expect(page.get_by_role("link", name="Members")).to_have_count(0)
    response = page.goto("/admin/members")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("for the organization's admins")


def test_another_organizations_ticket_is_a_404_page(page, org, other_org, http):
    theirs = create_ticket(http, other_org.tenant, title="Another organization's secret")
    sign_in(page, org.agent.email)
    response = page.goto(f"/tickets/{theirs['ticketId']}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Another organization's secret")).to_have_count(0)


def test_a_form_posted_without_its_csrf_token_is_refused(page, org, http):
    ticket_id = create_ticket(http, org.tenant, title="CSRF target")["ticketId"]
    sign_in(page, org.agent.email)
    page.goto(f"/tickets/{ticket_id}")
    # As a forged form would: the same form, without the token the page put in it.
    page.locator("#reply input[name=csrf]").evaluate("input => input.remove()")
    page.locator("#update").get_by_label("Status").select_option(label="Resolved")
    page.locator("#update").get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("did not come from this site")
    assert get_ticket(http, org.tenant, ticket_id)["status"] == "open"


def test_an_admin_adds_a_category_and_creates_an_api_key(page, org, http):
    sign_in(page, org.admin.email)
    page.get_by_role("link", name="Categories").click()
    form = page.locator("#add-category")
    form.get_by_label("Name").fill("Firmware")
    form.get_by_label("Description").fill("Firmware updates that fail or hang")
    form.get_by_role("button", name="Add category").click()
    expect(page.get_by_text("Category added.")).to_be_visible()
    expect(page.get_by_role("link", name="Firmware")).to_be_visible()

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("What it is for").fill("web test")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("tlm_")
    created = create_ticket(http, type("T", (), {"headers": {"x-api-key": key}})(), title="Via the new key",
                            category="Firmware")
    assert created["category"] == "Firmware"

    # Revoking asks first (the page's script), then the key stops working.
    page.goto("/admin/api-keys")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="web test").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("API key revoked")).to_be_visible()
    response = http.post("/api/ext-v1/ticket/createTicket", json={"title": "x", "customerEmail": "a@example.com"},
                         headers={"x-api-key": key})
    assert response.status_code == 401


def test_the_api_docs_render_offline_from_this_server_alone(page, live_server):
    """/docs is Swagger UI from the swagger-ui-bundle package: nothing may come from a CDN."""
    elsewhere = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else elsewhere.append(request.url))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Telemetron")
    create = page.locator("#operations-tickets-create_ticket")
    expect(create).to_contain_text("/api/ext-v1/ticket/createTicket")
    create.locator(".opblock-summary").click()  # the document's example, as the client would send it
    expect(create).to_contain_text("customerEmail")
    assert elsewhere == []



def test_a_member_sets_up_two_factor_by_scanning_a_qr_code_and_signs_in_with_a_code(page, org, chromium, live_server):
    import time

    import pyotp

    sign_in(page, org.agent.email)
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("link", name="Set it up").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator(".qr svg")).to_be_visible()  # drawn by the server, no script, no CDN
    totp = pyotp.TOTP(page.locator("code.secret").inner_text())
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Turn two-factor sign-in on").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    expect(page.locator("ul.codes li")).to_have_count(10)

    other = chromium.new_context(base_url=live_server.url).new_page()
    sign_in(other, org.agent.email)
    expect(other.get_by_role("heading", name="Two-factor code")).to_be_visible()
    other.get_by_label("Code").fill(totp.at(time.time() + 30))
    other.get_by_role("button", name="Sign in").click()
    expect(other).to_have_url(re.compile(r"/tickets$"))
    expect(other.get_by_text("Sam Agent")).to_be_visible()

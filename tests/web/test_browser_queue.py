"""Working a queue in a real browser, as an agent would: search, bulk-assign, open a ticket, use a
canned reply, reply, see the customer's answer arrive without reloading, resolve; a colleague on
the same ticket is shown; the keyboard shortcuts; and an admin adds a routing rule and a webhook,
and sends the webhook a test that a real local server receives, signed."""

from __future__ import annotations

import re

try:
    from playwright.sync_api import expect
except ImportError:  # the ``chromium`` fixture skips (or, under CI, fails) every test, saying why
    expect = None

from telemetron.db.scoped import Scoped
from telemetron.macros.service import add_macro
from telemetron.notifications import webhooks
from tests.support.http import create_ticket, get_ticket
from tests.support.notifications import ThreadWorker
from tests.support.receiver import Receiver
from tests.support.servers import free_port
from tests.support.web import sign_in

LIVE = 16_000  # a poll every 5 s, on a busy machine


def test_an_agent_works_a_queue_with_bulk_actions_a_macro_and_live_updates(page, chromium, live_server, org, http, db):
    db.run_sync(lambda conn: add_macro(Scoped(db, conn, org.id), name="Restart first",
                                       content="Hello {{customer_name}}, please restart the router. {{agent_name}}",
                                       actions={"status": "waiting_for_customer"}))
    ids = [create_ticket(http, org.tenant, title=f"Router offline #{i}", customerEmail="rita@example.com",
                         description="The status light blinks amber since the storm")["ticketId"]
           for i in range(4)]
    create_ticket(http, org.tenant, title="Billing question")
    sign_in(page, org.agent.email)

    # Search (a word of the description, not the title), then bulk-assign three of the four matches to me.
    page.get_by_role("search").get_by_label("Search").fill("amber storm")
    page.get_by_role("search").get_by_role("button", name="Filter").click()
    rows = page.locator("#ticket-list tbody tr")
    expect(rows).to_have_count(4)
    for title in ("Router offline #0", "Router offline #1", "Router offline #2"):
        page.get_by_label(f"Select “{title}”").check()
    expect(page.locator("#picked-count")).to_have_text("(3 ticked)")
    page.locator("#bulk").get_by_label("Set assignee").select_option(label="Me")
    page.locator("#bulk").get_by_role("button", name="Apply").click()
    expect(page.get_by_text("3 tickets updated.")).to_be_visible()
    assert [get_ticket(http, org.tenant, t)["assignee"] is not None for t in ids] == [True, True, True, False]

    # Open one; a colleague opens it too and is shown.
    page.get_by_role("link", name="Router offline #1").click()
    colleague = chromium.new_context(base_url=live_server.url).new_page()
    sign_in(colleague, org.admin.email)
    colleague.goto(page.url)
    expect(page.locator("#presence")).to_have_text("Ada Admin is viewing.", timeout=LIVE)

    # A canned reply fills the reply and the status; sending adds both.
    page.get_by_label("Canned reply or macro").select_option(label="Restart first")
    page.get_by_role("button", name="Use").click()
    reply = page.get_by_label("Reply to the customer")
    expect(reply).to_have_value("Hello rita, please restart the router. Sam Agent")
    expect(page.locator("#update").get_by_label("Status")).to_have_value("waiting_for_customer")
    reply.fill(reply.input_value() + " Thanks!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was added.")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Waiting for customer")

    # A note for the team: shown as an internal note, never a message to the customer.
    page.locator("#note").get_by_label("Internal note").fill("Same model as last week's outage.")
    page.locator("#note").get_by_role("button", name="Add note").click()
    expect(page.locator(".message.note")).to_contain_text("Same model as last week's outage.")
    assert get_ticket(http, org.tenant, ids[1])["messages"][-1]["internal"] is True

    # The customer answers through the API: it appears without a reload, the draft untouched.
    page.get_by_label("Reply to the customer").fill("Draft in progress")
    answered = http.post("/api/ext-v1/ticket/addMessage", headers=org.tenant.headers,
                         json={"ticketId": ids[1], "role": "customer", "content": "Restarted, still offline."})
    assert answered.status_code == 200
    expect(page.locator(".role-customer")).to_contain_text("Restarted, still offline.", timeout=LIVE)
    expect(page.get_by_label("Reply to the customer")).to_have_value("Draft in progress")
    expect(colleague.locator("#presence")).to_have_text("Sam Agent is replying.", timeout=LIVE)

    # Resolve.
    page.get_by_label("Reply to the customer").fill("")
    page.locator("#update").get_by_label("Status").select_option(label="Resolved")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#status")).to_contain_text("Resolved")
    assert get_ticket(http, org.tenant, ids[1])["status"] == "resolved"


def test_the_list_updates_itself_and_the_shortcuts_work(page, org, http):
    first = create_ticket(http, org.tenant, title="First in line")["ticketId"]
    create_ticket(http, org.tenant, title="Second in line")
    sign_in(page, org.agent.email)
    expect(page.locator("#ticket-list tbody tr")).to_have_count(2)
    create_ticket(http, org.tenant, title="Arrived while watching")
    expect(page.get_by_role("link", name="Arrived while watching")).to_be_visible(timeout=LIVE)

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="First in line")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/tickets/{first}$"))
    page.keyboard.press("k")  # previous in the list's order
    expect(page.get_by_role("heading", name="Second in line")).to_be_visible()
    page.keyboard.press("r")
    expect(page.get_by_label("Reply to the customer")).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("a")
    expect(page.get_by_text("The ticket was updated.")).to_be_visible()
    expect(page.locator("#assignee")).to_have_text("Sam Agent")


def test_an_admin_adds_a_routing_rule_and_a_webhook_and_sends_it_a_test(page, org, http, database_url):
    receiver = Receiver(free_port()).start()
    worker = ThreadWorker(database_url, "browser-test-worker").start()
    try:
        _add_a_routing_rule_and_try_it(page, org, http)
        _add_a_webhook_and_send_a_test(page, receiver)
    finally:
        worker.stop()
        receiver.stop()


def _add_a_webhook_and_send_a_test(page, receiver):
    page.get_by_role("link", name="Notifications").click()
    page.locator("#add-webhook").get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name=f"Webhook endpoint added: {receiver.url}")).to_be_visible()
    secret = page.locator("#new-secret").inner_text()
    page.get_by_role("link", name=receiver.url).click()
    page.get_by_role("button", name="Send a test").click()
    expect(page.locator("#test-result")).to_have_text("Test delivered: the endpoint answered 200.")
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("webhook.test")
    arrived = receiver.wait_for(1)[0]
    assert arrived.headers["x-telemetron-event"] == "webhook.test"
    assert webhooks.verify(secret, arrived.body, arrived.headers["x-telemetron-signature"])


def _add_a_routing_rule_and_try_it(page, org, http):
    sign_in(page, org.admin.email)
    page.get_by_role("link", name="Routing").click()
    form = page.locator("#add-rule")
    form.get_by_label("Name").fill("Billing to Sam")
    form.get_by_label("Ticket category").fill("Billing")
    form.get_by_label("Assign to member").select_option(label="Sam Agent")
    form.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Rule added.")).to_be_visible()
    expect(page.locator("#rules")).to_contain_text("assign to Sam Agent")

    dry = page.locator("#dry-run")
    dry.get_by_label("Title").fill("Charged twice")
    dry.get_by_label("Category").select_option(label="Billing")
    dry.get_by_role("button", name="Try it").click()
    expect(page.locator("#dry-run-result")).to_contain_text("rule 'Billing to Sam' matched")
    assert create_ticket(http, org.tenant, title="Invoice wrong", category="Billing")["assignee"]["name"] == "Sam Agent"

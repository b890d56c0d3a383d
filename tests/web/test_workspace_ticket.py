"""The ticket page as a workspace: one form (a reply keeps the sidebar's changes), assign to me,
tags, canned replies and macros, and the customer's context; and the customer page."""

from __future__ import annotations

import re

from tests.support.databases import count
from tests.support.http import create_ticket, get_ticket
from tests.support.web import Browser, csrf_of


def shown(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="shown_(\w+)" value="([^"]*)"', html))


def one_form(html: str, **changes: str) -> dict[str, str]:
    """What the ticket page's one form sends as the page shows it, with ``changes`` made."""
    values = {k: v for k, v in shown(html).items()}
    once = re.search(r'name="once" value="([^"]+)"', html).group(1)
    return {**values, **{f"shown_{k}": v for k, v in shown(html).items()}, "csrf": csrf_of(html), "once": once,
            "content": "", **changes}


def test_a_reply_sent_with_sidebar_changes_keeps_both(agent, org, http):
    ticket_id = create_ticket(http, org.tenant, title="Charger broken")["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}").text
    assert 'name="status" form="reply"' in page and 'name="assignee" form="reply"' in page
    sent = agent.post(f"/tickets/{ticket_id}/reply", data=one_form(
        page, content="A new charger is on its way.", priority="high", status="waiting_for_customer",
        tags="hardware, replacement", action="reply"))
    assert sent.status_code == 303 and "done=replied" in sent.headers["location"]
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert (ticket["priority"], ticket["status"]) == ("high", "waiting_for_customer")
    assert ticket["tags"] == ["hardware", "replacement"]
    assert ticket["messages"][-1]["content"] == "A new charger is on its way."


def test_saving_the_details_keeps_an_unsent_draft_on_the_page(agent, org, http):
    ticket_id = create_ticket(http, org.tenant, title="Screen flickers")["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}").text
    saved = agent.post(f"/tickets/{ticket_id}/reply", data=one_form(page, content="Half-written answer",
                                                                    priority="low", action="save"))
    assert saved.status_code == 200
    assert "Your reply is not sent yet." in saved.text and "Half-written answer</textarea>" in saved.text
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert ticket["priority"] == "low" and ticket["messages"] == []


def test_assign_to_me(agent, org, http):
    ticket_id = create_ticket(http, org.tenant, title="Nobody's yet")["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}").text
    assert "Assign to me" in page
    response = agent.post(f"/tickets/{ticket_id}/reply", data=one_form(page, assign_me="1"))
    assert response.status_code == 303 and "done=updated" in response.headers["location"]
    assert get_ticket(http, org.tenant, ticket_id)["assignee"]["id"] == org.agent.id
    assert "Assign to me" not in agent.get(f"/tickets/{ticket_id}").text


def add_macro(admin, **fields) -> str:
    response = admin.submit("/admin/macros", "/admin/macros", fields)
    assert response.status_code == 303, response.text
    listing = admin.get("/admin/macros").text
    return re.search(rf'href="/admin/macros/(mac_[0-9a-f]+)">{re.escape(fields["name"])}<', listing).group(1)


def test_a_macro_fills_the_form_with_its_reply_and_changes(client, org, http, db):
    client.sign_in(org.admin.email)
    macro_id = add_macro(client, name="Refund sent", content="Hello {{customer_name}}, refund for {{ ticket_number }} "
                         "is on its way. {{agent_name}}", status="resolved", priority="low", category="Billing",
                         assignee="me", tags="refund")
    ticket_id = create_ticket(http, org.tenant, title="Refund please", customerEmail="mia@example.com")["ticketId"]
    page = client.get(f"/tickets/{ticket_id}?macro={macro_id}").text
    number = get_ticket(http, org.tenant, ticket_id)["number"]
    assert f"Hello mia, refund for #{number} is on its way. Ada Admin</textarea>" in page
    assert re.search(r'<option value="resolved" selected', page)
    assert re.search(rf'<option value="{org.admin.id}" selected', page)
    assert 'value="refund"' in page
    assert get_ticket(http, org.tenant, ticket_id)["status"] == "open"  # nothing is sent by choosing it

    form = one_form(page, content=re.search(r"<textarea[^>]*>([^<]*)</textarea>", page).group(1), action="reply",
                    status="resolved", priority="low", assignee=org.admin.id, tags="refund",
                    category=re.search(r'<option value="(cat_[0-9a-f]+)" selected', page).group(1))
    assert client.post(f"/tickets/{ticket_id}/reply", data=form).status_code == 303
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert (ticket["status"], ticket["priority"], ticket["category"], ticket["tags"]) == (
        "resolved", "low", "Billing", ["refund"])
    assert ticket["messages"][-1]["content"].startswith("Hello mia, refund for")


def test_macro_admin_refuses_bad_input_and_agents(client, org, other_org, http, db):
    client.sign_in(org.admin.email)
    unknown = client.submit("/admin/macros", "/admin/macros", {"name": "Bad", "content": "Hi {{customer}}"})
    assert unknown.status_code == 400 and "Unknown placeholder {{customer}}" in unknown.text
    assert "Hi {{customer}}" in unknown.text  # what the admin typed is kept
    empty = client.submit("/admin/macros", "/admin/macros", {"name": "Empty", "content": ""})
    assert empty.status_code == 400 and "needs a reply or at least one change" in empty.text
    macro_id = add_macro(client, name="Thanks", content="Thanks!")
    assert client.submit("/admin/macros", "/admin/macros", {"name": "Thanks", "content": "x"}).status_code == 409
    saved = client.submit(f"/admin/macros/{macro_id}", f"/admin/macros/{macro_id}",
                          {"name": "Thanks a lot", "content": "Thanks a lot!"})
    assert saved.status_code == 303
    assert "Thanks a lot!" in client.get(f"/admin/macros/{macro_id}").text
    # Another organization's admin sees a 404 for it.
    with Browser(base_url=str(client.base_url), follow_redirects=False) as outsider:
        outsider.sign_in(other_org.admin.email)
        assert outsider.get(f"/admin/macros/{macro_id}").status_code == 404
    with Browser(base_url=str(client.base_url), follow_redirects=False) as agent:
        agent.sign_in(org.agent.email)
        assert agent.get("/admin/macros").status_code == 403
    deleted = client.submit(f"/admin/macros/{macro_id}", f"/admin/macros/{macro_id}/delete", {})
    assert deleted.status_code == 303
    assert count(db, "select count(*) from macros where id = :m", m=macro_id) == 0


def test_the_customer_page_and_the_sidebar_show_the_customers_context(agent, org, other_org, http, db):
    first = create_ticket(http, org.tenant, title="First problem", customerEmail="lea@example.com")
    create_ticket(http, org.tenant, title="Second problem", customerEmail="lea@example.com")
    solved = create_ticket(http, org.tenant, title="Old solved problem", customerEmail="lea@example.com")
    http.post("/api/ext-v1/ticket/updateTicket", headers=org.tenant.headers,
              json={"ticketId": solved["ticketId"], "status": "resolved"})
    device = http.post("/api/ext-v1/deviceAssignment/assignDeviceToOwners", headers=org.tenant.headers,
                       json={"deviceIdentifier": "HUB-0042", "customerEmails": ["lea@example.com"],
                             "autoCreateDevice": True, "deviceType": "Hub"})
    assert device.status_code in (200, 201), device.text
    customer_id = first["customerId"]

    page = agent.get(f"/tickets/{first['ticketId']}").text
    assert f'href="/customers/{customer_id}"' in page
    side = page[page.index('class="customer-side"'):]
    assert "Second problem" in side and "First problem" not in side and "Old solved problem" not in side
    assert "HUB-0042" in side

    customer = agent.get(f"/customers/{customer_id}")
    assert customer.status_code == 200
    assert "lea@example.com" in customer.text and "HUB-0042" in customer.text
    listed = re.findall(r'<a href="/tickets/[0-9a-f-]{36}">([^<]*)</a>', customer.text)
    assert listed == ["Second problem", "First problem", "Old solved problem"]  # open first, then resolved
    theirs = create_ticket(http, other_org.tenant, title="Theirs", customerEmail="lea@example.com")
    assert agent.get(f"/customers/{theirs['customerId']}").status_code == 404
    assert agent.get("/customers/cust_nothing").status_code == 404

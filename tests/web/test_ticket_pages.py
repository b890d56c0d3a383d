"""The agents' ticket pages through the real server: what an agent sees, and that every change
goes through the same services as the API (notifications, AI training, scoping)."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.support.databases import count
from tests.support.http import create_ticket, get_ticket
from tests.support.notifications import use_slack
from tests.support.web import csrf_of, titles


def test_the_list_shows_the_organizations_tickets_newest_first(agent, org, other_org, http):
    create_ticket(http, org.tenant, title="Older WiFi problem", category="Connectivity")
    create_ticket(http, org.tenant, title="Newer battery problem", category="Battery")
    create_ticket(http, other_org.tenant, title="Another organization's ticket")
    page = agent.get("/tickets")
    assert page.status_code == 200
    assert titles(page.text) == ["Newer battery problem", "Older WiFi problem"]
    assert "Another organization" not in page.text
    assert "john.doe@example.com" in page.text


def test_filters_status_category_needs_triage_assignee_and_title(agent, org, http, db):
    wifi = create_ticket(http, org.tenant, title="WiFi drops", category="Connectivity")
    create_ticket(http, org.tenant, title="Battery drains", category="Battery")
    triage = create_ticket(http, org.tenant, title="Something odd")  # no category: needs triage
    done = create_ticket(http, org.tenant, title="Solved WiFi thing", category="Connectivity")
    http.post("/api/ext-v1/ticket/updateTicket", headers=org.tenant.headers,
              json={"ticketId": done["ticketId"], "status": "resolved"})
    http.post("/api/ext-v1/ticket/updateTicket", headers=org.tenant.headers,
              json={"ticketId": wifi["ticketId"], "assigneeId": org.agent.id})
    category_id = db.run_sync(lambda conn: conn.execute(
        text("select id from categories where organization_id = :o and name = 'Connectivity'"), {"o": org.id}).scalar())

    assert "Solved WiFi thing" not in titles(agent.get("/tickets").text)  # default: not resolved
    assert titles(agent.get("/tickets?status=resolved").text) == ["Solved WiFi thing"]
    assert len(titles(agent.get("/tickets?status=").text)) == 4
    assert titles(agent.get("/tickets?category=none").text) == ["Something odd"]
    assert triage["categorySource"] == "none"
    assert titles(agent.get(f"/tickets?category={category_id}").text) == ["WiFi drops"]
    assert titles(agent.get("/tickets?assignee=me").text) == ["WiFi drops"]
    assert titles(agent.get("/tickets?assignee=unassigned").text) == ["Something odd", "Battery drains"]
    # By last activity (the default): WiFi drops was assigned after the other was resolved.
    assert titles(agent.get("/tickets?q=wifi&status=").text) == ["WiFi drops", "Solved WiFi thing"]
    assert titles(agent.get("/tickets?q=wifi&status=&sort=created").text) == ["Solved WiFi thing", "WiFi drops"]
    assert titles(agent.get("/tickets?q=100%25").text) == []  # LIKE wildcards are searched literally
    assert "No tickets match these filters." in agent.get("/tickets?q=nothing-like-this").text


def test_pages_walk_every_ticket_once_by_keyset(agent, org, http):
    for i in range(30):
        create_ticket(http, org.tenant, title=f"Ticket {i:02d}")
    first = agent.get("/tickets?q=Ticket")
    seen = titles(first.text)
    assert len(seen) == 25
    older = re.search(r'<a href="(/tickets\?[^"]+)" rel="next">Older tickets', first.text).group(1)
    second = agent.get(older.replace("&amp;", "&"))
    assert second.status_code == 200
    seen += titles(second.text)
    assert seen == [f"Ticket {i:02d}" for i in range(29, -1, -1)]
    assert 'rel="next"' not in second.text
    # A cursor from another filter, or a garbled one, leads to the first page with a word for people.
    cursor = re.search(r"cursor=([^&\"]+)", older).group(1)
    for bad in (f"/tickets?q=other&cursor={cursor}", "/tickets?cursor=garbage"):
        mismatch = agent.get(bad)
        assert mismatch.status_code == 303 and "expired=1" in mismatch.headers["location"]
        page = agent.get(mismatch.headers["location"])
        assert page.status_code == 200 and "That page of results had expired" in page.text


def test_the_ticket_page_shows_everything_an_agent_needs(agent, org, http):
    created = create_ticket(http, org.tenant, title="Hub loses WiFi", category="Connectivity", priority="high",
                            messages=[{"role": "customer", "content": "Since Monday my hub loses WiFi <b>hourly</b>."}])
    page = agent.get(f"/tickets/{created['ticketId']}")
    assert page.status_code == 200
    html = page.text
    assert "<h1 id=\"title\">Hub loses WiFi</h1>" in html
    assert "john.doe@example.com" in html
    assert "Connectivity" in html and "given when the ticket was created" in html
    assert "High" in html and "Open" in html
    assert "Since Monday my hub loses WiFi &lt;b&gt;hourly&lt;/b&gt;." in html  # escaped, never markup
    assert "not routed" in html or "no routing rule matched" in html
    # The description written from the messages is folded above them, not repeated in full.
    assert re.search(r'<details class="message description">\s*<summary><strong>Description</strong>', html)
    assert 'rel="icon"' in html


def test_another_organizations_ticket_or_a_bad_id_is_a_404_page(agent, other_org, http):
    theirs = create_ticket(http, other_org.tenant, title="Secret ticket of another organization")
    for path in (f"/tickets/{theirs['ticketId']}", "/tickets/not-a-uuid", "/tickets/00000000-0000-0000-0000-000000000000"):
        response = agent.get(path)
        assert response.status_code == 404, path
        assert "Ticket not found" in response.text
        assert "Secret ticket" not in response.text
        assert "Sam Agent" in response.text  # still the signed-in layout
    page = agent.get("/tickets")
    response = agent.post(f"/tickets/{theirs['ticketId']}/update",
                          data={"status": "resolved", "csrf": csrf_of(page.text)})
    assert response.status_code == 404
    response = agent.post(f"/tickets/{theirs['ticketId']}/reply", data={"content": "hi", "csrf": csrf_of(page.text)})
    assert response.status_code == 404
    assert get_ticket(http, other_org.tenant, theirs["ticketId"])["status"] == "open"
    assert get_ticket(http, other_org.tenant, theirs["ticketId"])["messages"] == []


def test_reply_adds_an_agent_message_and_can_set_the_status(agent, org, http, db):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/reply",
                            {"content": "Please restart the hub.", "status": "waiting_for_customer"})
    assert response.status_code == 303
    page = agent.get(response.headers["location"])
    assert "Your reply was added." in page.text and "Please restart the hub." in page.text
    assert re.search(r"<strong>Agent</strong> Sam Agent ·", page.text)  # who wrote it
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert [(m["role"], m["content"], m["author"]) for m in ticket["messages"]] == [
        ("agent", "Please restart the hub.", {"id": org.agent.id, "name": "Sam Agent"})
    ]
    assert ticket["status"] == "waiting_for_customer"


def test_a_reply_keeps_its_lines_as_the_api_does_and_back_does_not_refill_it(agent, org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/reply", {"content": "Restart the hub.\r\nLine 2"})
    assert get_ticket(http, org.tenant, ticket_id)["messages"][-1]["content"] == "Restart the hub.\nLine 2"
    assert re.search(r'<form [^>]*id="reply"[^>]*autocomplete="off"', agent.get(f"/tickets/{ticket_id}").text)


def test_a_reply_form_sent_twice_adds_the_reply_once(agent, org, http):
    """A double click, or a browser re-sending the form after a lost response: the customer must
    not get the same reply twice. Each showing of the form carries a one-time value."""
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}").text
    form = {"content": "Please restart the hub.", "csrf": csrf_of(page),
            "once": re.search(r'name="once" value="([^"]+)"', page).group(1)}
    first = agent.post(f"/tickets/{ticket_id}/reply", data=form)
    again = agent.post(f"/tickets/{ticket_id}/reply", data=form)
    assert (first.status_code, again.status_code) == (303, 303)
    assert "sent before" in agent.get(again.headers["location"]).text
    assert [m["content"] for m in get_ticket(http, org.tenant, ticket_id)["messages"]] == ["Please restart the hub."]
    fresh_page = agent.get(f"/tickets/{ticket_id}").text
    fresh = re.search(r'name="once" value="([^"]+)"', fresh_page).group(1)
    assert fresh != form["once"]  # the form shown next sends a new reply
    agent.post(f"/tickets/{ticket_id}/reply", data={**form, "once": fresh, "content": "Any luck?"})
    assert [m["content"] for m in get_ticket(http, org.tenant, ticket_id)["messages"]] == [
        "Please restart the hub.", "Any luck?"]


def test_a_refused_reply_leaves_its_form_usable(agent, org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}").text
    form = {"content": "   ", "csrf": csrf_of(page), "once": re.search(r'name="once" value="([^"]+)"', page).group(1)}
    assert agent.post(f"/tickets/{ticket_id}/reply", data=form).status_code == 400
    assert agent.post(f"/tickets/{ticket_id}/reply", data={**form, "content": "Fixed now?"}).status_code == 303
    assert [m["content"] for m in get_ticket(http, org.tenant, ticket_id)["messages"]] == ["Fixed now?"]


def test_an_empty_or_too_long_reply_is_a_message_not_a_change(agent, org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/reply", {"content": "   "})
    assert response.status_code == 400
    assert "The reply is empty" in response.text
    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/reply", {"content": "x" * 70_000})
    assert response.status_code == 400
    assert "too long" in response.text
    assert get_ticket(http, org.tenant, ticket_id)["messages"] == []


def test_changes_go_through_the_ticket_services(agent, org, http, db):
    use_slack(db, org.id, "http://127.0.0.1:9/slack")  # notifications are enqueued (not delivered here)
    created = create_ticket(http, org.tenant, title="Hub loses WiFi")
    ticket_id = created["ticketId"]
    assert created["categorySource"] == "none"
    category_id = db.run_sync(lambda conn: conn.execute(
        text("select id from categories where organization_id = :o and name = 'Connectivity'"), {"o": org.id}).scalar())
    before = count(db, "select count(*) from outbox where organization_id = :o and event = 'ticket.status_changed'", o=org.id)

    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/update", {
        "status": "in_progress", "priority": "urgent", "category": category_id, "assignee": org.agent.id})
    assert response.status_code == 303
    assert "The ticket was updated." in agent.get(response.headers["location"]).text

    ticket = get_ticket(http, org.tenant, ticket_id)
    assert (ticket["status"], ticket["priority"], ticket["category"], ticket["categorySource"]) == (
        "in_progress", "urgent", "Connectivity", "provided")
    assert ticket["assignee"]["id"] == org.agent.id
    # A status change notifies as through the API; a category set by an agent is a training signal.
    after = count(db, "select count(*) from outbox where organization_id = :o and event = 'ticket.status_changed'", o=org.id)
    assert after == before + 1
    assert count(db, "select count(*) from tickets where id = :t and category_corrected_at is not null", t=ticket_id) == 1

    # Saving the form again unchanged changes nothing and notifies nobody.
    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/update", {
        "status": "in_progress", "priority": "urgent", "category": category_id, "assignee": org.agent.id})
    assert response.headers["location"].endswith("done=unchanged")
    assert count(db, "select count(*) from outbox where organization_id = :o and event = 'ticket.status_changed'", o=org.id) == after


def test_an_ai_category_is_not_confirmed_by_saving_other_fields(agent, org, http, db):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    category_id = db.run_sync(lambda conn: conn.execute(
        text("select id from categories where organization_id = :o and name = 'Battery'"), {"o": org.id}).scalar())
    with db.engine.begin() as conn:  # as if the categorizer had chosen it
        conn.execute(text("update tickets set category_id = :c, category_source = 'ai', category_confidence = 0.8, "
                          "category_candidates = :cand where id = :t"),
                     {"c": category_id, "t": ticket_id,
                      "cand": '[{"category": "Battery", "score": 0.8}, {"category": "Billing", "score": 0.1}]'})
    page = agent.get(f"/tickets/{ticket_id}")
    assert "chosen by the AI, confidence 80%" in page.text and "Billing" in page.text
    agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/update",
                 {"status": "in_progress", "priority": "medium", "category": category_id, "assignee": ""})
    assert get_ticket(http, org.tenant, ticket_id)["categorySource"] == "ai"
    response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/update",
                            {"category": category_id, "assignee": "", "confirm_category": "1"})
    confirmed = agent.get(response.headers["location"]).text
    assert "Category confirmed" in confirmed
    assert 'aria-label="AI candidates"' not in confirmed  # a person's choice now, not the AI's scores
    assert get_ticket(http, org.tenant, ticket_id)["categorySource"] == "provided"


def test_bad_values_in_the_form_are_messages(agent, org, other_org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    for data, words in (({"status": "closed"}, "Unknown status"),
                        ({"priority": "whenever"}, "Unknown priority"),
                        ({"category": "cat_000000000000"}, "does not exist"),
                        ({"assignee": other_org.agent.id}, "not a member of this organization")):
        response = agent.submit(f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/update", data)
        assert 400 <= response.status_code < 500, data
        assert words in response.text, (data, response.text[:500])
    assert get_ticket(http, org.tenant, ticket_id)["assignee"] is None


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(agent, org, http):
    ticket_id = create_ticket(http, org.tenant)["ticketId"]
    for token in (None, "0" * 32):
        data = {"status": "resolved"} | ({"csrf": token} if token else {})
        response = agent.post(f"/tickets/{ticket_id}/update", data=data)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert get_ticket(http, org.tenant, ticket_id)["status"] == "open"


def test_saving_a_page_opened_before_a_colleagues_change_keeps_that_change(agent, org, http, db):
    """The form sends what it showed; only the fields this agent changed are written."""
    ticket_id = create_ticket(http, org.tenant, title="Screen cracked on arrival", priority="urgent")["ticketId"]
    page = agent.get(f"/tickets/{ticket_id}")  # the agent opens the ticket ...
    shown = dict(re.findall(r'name="shown_(\w+)" value="([^"]*)"', page.text))
    assert shown == {"status": "open", "priority": "urgent", "category": "", "assignee": "", "tags": ""}
    # ... a colleague lowers the priority and takes the ticket meanwhile ...
    response = http.post("/api/ext-v1/ticket/updateTicket", headers=org.tenant.headers,
                         json={"ticketId": ticket_id, "priority": "low", "assigneeId": org.admin.id})
    assert response.status_code == 200, response.text
    # ... and the agent, on the page as it was, changes only the status and saves.
    form = {"status": "in_progress", "priority": "urgent", "category": "", "assignee": "", "csrf": csrf_of(page.text),
            **{f"shown_{k}": v for k, v in shown.items()}}
    assert agent.post(f"/tickets/{ticket_id}/update", data=form).status_code == 303
    ticket = get_ticket(http, org.tenant, ticket_id)
    assert (ticket["status"], ticket["priority"], ticket["assignee"]["id"]) == ("in_progress", "low", org.admin.id)

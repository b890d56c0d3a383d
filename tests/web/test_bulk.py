"""Bulk actions on the ticket list, and saved views: through the real server, changing tickets
through the same functions as one ticket's form (notifications, AI training, scoping)."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.support.databases import count
from tests.support.http import create_ticket, get_ticket
from tests.support.notifications import use_slack
from tests.support.web import add_person

STATUS_EVENTS = "select count(*) from outbox where organization_id = :o and event = 'ticket.status_changed'"


def list_query(html: str) -> str:
    return re.search(r'name="list_query" value="([^"]*)"', html).group(1).replace("&amp;", "&")


def category_id(db, org_id: str, name: str) -> str:
    return db.run_sync(lambda conn: conn.execute(
        text("select id from categories where organization_id = :o and name = :n"), {"o": org_id, "n": name}).scalar())


def test_ticked_tickets_are_assigned_resolved_and_notified_as_single_changes(agent, org, http, db):
    use_slack(db, org.id, "http://127.0.0.1:9/slack")  # enqueued, not delivered here
    picked = [create_ticket(http, org.tenant, title=f"Picked {i}")["ticketId"] for i in range(3)]
    other = create_ticket(http, org.tenant, title="Left alone")["ticketId"]
    before = count(db, STATUS_EVENTS, o=org.id)

    response = agent.submit("/tickets", "/tickets/bulk", {"scope": "selected", "ticket": picked,
                                                          "assignee": "me", "status": "resolved", "list_query": ""})
    assert response.status_code == 303
    assert "bulk=3" in response.headers["location"]
    assert "3 tickets updated." in agent.get(response.headers["location"]).text
    for ticket_id in picked:
        ticket = get_ticket(http, org.tenant, ticket_id)
        assert (ticket["status"], ticket["assignee"]["id"]) == ("resolved", org.agent.id)
    assert get_ticket(http, org.tenant, other)["status"] == "open"
    assert get_ticket(http, org.tenant, other)["assignee"] is None
    assert count(db, STATUS_EVENTS, o=org.id) == before + 3


def test_all_matching_changes_only_what_the_filters_show_and_the_category_teaches(agent, org, http, db):
    triage = [create_ticket(http, org.tenant, title=f"Unsorted {i}")["ticketId"] for i in range(30)]
    sorted_one = create_ticket(http, org.tenant, title="Already sorted", category="Battery")["ticketId"]
    connectivity = category_id(db, org.id, "Connectivity")

    page = agent.get("/tickets?category=none")
    response = agent.submit("/tickets?category=none", "/tickets/bulk",
                            {"scope": "all", "category": connectivity, "priority": "urgent",
                             "list_query": list_query(page.text)})
    assert response.status_code == 303
    assert "bulk=30" in response.headers["location"] and "category=none" in response.headers["location"]
    for ticket_id in triage:
        ticket = get_ticket(http, org.tenant, ticket_id)
        assert (ticket["category"], ticket["categorySource"], ticket["priority"]) == ("Connectivity", "provided", "urgent")
    assert get_ticket(http, org.tenant, sorted_one)["category"] == "Battery"
    # An agent's category is a training signal, as on one ticket's form.
    assert count(db, "select count(*) from tickets where organization_id = :o and category_corrected_at is not null",
                 o=org.id) == 30


def test_nothing_chosen_another_orgs_ticket_or_no_ticket_changes_nothing(agent, org, other_org, http):
    mine = create_ticket(http, org.tenant, title="Mine")["ticketId"]
    theirs = create_ticket(http, other_org.tenant, title="Theirs")["ticketId"]
    nothing = agent.submit("/tickets", "/tickets/bulk", {"scope": "selected", "ticket": [mine], "list_query": ""})
    assert nothing.status_code == 400 and "Choose what to change" in nothing.text
    none_ticked = agent.submit("/tickets", "/tickets/bulk", {"scope": "selected", "status": "resolved", "list_query": ""})
    assert none_ticked.status_code == 400 and "Tick at least one ticket" in none_ticked.text
    refused = agent.submit("/tickets", "/tickets/bulk", {"scope": "selected", "ticket": [mine, theirs],
                                                         "status": "resolved", "list_query": ""})
    assert refused.status_code == 404
    assert get_ticket(http, org.tenant, mine)["status"] == "open"  # one transaction: all or nothing
    assert get_ticket(http, other_org.tenant, theirs)["status"] == "open"


def test_the_list_has_a_checkbox_per_ticket_in_the_bulk_form(agent, org, http):
    ticket_id = create_ticket(http, org.tenant, title="Tick me")["ticketId"]
    html = agent.get("/tickets").text
    assert f'name="ticket" value="{ticket_id}" form="bulk"' in html
    assert 'action="/tickets/bulk"' in html


def test_saved_views_personal_and_shared(client, org, http, db):
    create_ticket(http, org.tenant, title="Urgent thing", priority="urgent")
    create_ticket(http, org.tenant, title="Calm thing", priority="low")
    client.sign_in(org.agent.email)
    client.submit("/tickets", "/views", {"name": "My urgent", "list_query": "priority=urgent&cursor=abc"})
    client.submit("/tickets", "/views", {"name": "Team urgent", "list_query": "priority=urgent", "shared": "on"})
    html = client.get("/tickets").text
    assert '<a href="/tickets?priority=urgent">My urgent</a>' in html  # the page cursor is not saved
    assert "Urgent thing" in client.get("/tickets?priority=urgent").text
    assert "Calm thing" not in client.get("/tickets?priority=urgent").text

    colleague = add_person(db, org.id, role="agent", name="Colleague")
    client.post("/signout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1)})
    client.sign_in(colleague.email)
    html = client.get("/tickets").text
    assert "Team urgent" in html and "My urgent" not in html
    view_id = re.search(r'action="/views/(view_[0-9a-f]+)/delete"', client.get("/tickets").text)
    assert view_id is None  # a colleague cannot remove someone else's shared view

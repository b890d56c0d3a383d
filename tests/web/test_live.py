"""Live updates: the "changed since" checks the pages poll, and who else is on a ticket, read from
the database (so several server processes agree)."""

from __future__ import annotations

from tests.support.databases import count
from tests.support.http import create_ticket
from tests.support.web import Browser


def add_customer_message(http, tenant, ticket_id: str, content: str) -> None:
    response = http.post("/api/ext-v1/ticket/addMessage", headers=tenant.headers,
                         json={"ticketId": ticket_id, "role": "customer", "content": content})
    assert response.status_code == 200, response.text


def test_the_list_token_moves_when_a_ticket_arrives_or_changes(agent, org, other_org, http):
    first = agent.get("/live/tickets").json()
    assert first["pollSeconds"] == 5
    ticket_id = create_ticket(http, org.tenant, title="New one")["ticketId"]
    arrived = agent.get("/live/tickets").json()["token"]
    assert arrived != first["token"]
    create_ticket(http, other_org.tenant, title="Someone else's")
    assert agent.get("/live/tickets").json()["token"] == arrived  # another organization's tickets do not count
    add_customer_message(http, org.tenant, ticket_id, "More details")
    assert agent.get("/live/tickets").json()["token"] != arrived
    html = agent.get("/tickets").text
    assert f'data-token="{agent.get("/live/tickets").json()["token"]}"' in html


def test_a_ticket_token_moves_on_a_customer_reply_and_other_agents_are_seen(client, org, other_org, http, live_server):
    ticket_id = create_ticket(http, org.tenant, title="Shared ticket")["ticketId"]
    client.sign_in(org.agent.email)
    before = client.get(f"/live/tickets/{ticket_id}").json()
    assert before["others"] == []
    add_customer_message(http, org.tenant, ticket_id, "Any news?")
    assert client.get(f"/live/tickets/{ticket_id}").json()["token"] != before["token"]

    with Browser(base_url=live_server.url, follow_redirects=False) as ada:
        ada.sign_in(org.admin.email)
        assert ada.get(f"/tickets/{ticket_id}").status_code == 200  # opening the page is viewing it
        assert client.get(f"/live/tickets/{ticket_id}").json()["others"] == [{"name": "Ada Admin", "replying": False}]
        ada.get(f"/live/tickets/{ticket_id}?heartbeat=1&replying=1")
        assert client.get(f"/live/tickets/{ticket_id}").json()["others"] == [{"name": "Ada Admin", "replying": True}]
        assert ada.get(f"/live/tickets/{ticket_id}").json()["others"] == []  # not before Sam sends a heartbeat
        client.get(f"/live/tickets/{ticket_id}?heartbeat=1")
        assert ada.get(f"/live/tickets/{ticket_id}").json()["others"] == [{"name": "Sam Agent", "replying": False}]
        assert 'Ada Admin is replying.' in client.get(f"/tickets/{ticket_id}").text

    theirs = create_ticket(http, other_org.tenant, title="Not yours")["ticketId"]
    assert client.get(f"/live/tickets/{theirs}").status_code == 404
    assert client.get("/live/tickets/not-a-ticket").status_code == 404


def test_signed_out_polls_get_no_data(client, org, http):
    response = client.get("/live/tickets")
    assert response.status_code == 303 and "/signin" in response.headers["location"]


def test_a_closed_page_stops_being_shown_after_its_heartbeats_stop(client, org, http, db, live_server):
    from datetime import timedelta

    from sqlalchemy import text

    from telemetron.clock import utcnow
    from telemetron.web.live import PRESENCE_SECONDS

    ticket_id = create_ticket(http, org.tenant, title="Left open")["ticketId"]
    client.sign_in(org.agent.email)
    with Browser(base_url=live_server.url, follow_redirects=False) as ada:
        ada.sign_in(org.admin.email)
        ada.get(f"/live/tickets/{ticket_id}?heartbeat=1")
    assert client.get(f"/live/tickets/{ticket_id}").json()["others"] == [{"name": "Ada Admin", "replying": False}]
    old = utcnow() - timedelta(seconds=PRESENCE_SECONDS + 1)
    db.run_sync(lambda conn: conn.execute(text("update ticket_presence set seen_at = :t where ticket_id = :i"),
                                          {"t": old.replace(tzinfo=None) if db.is_sqlite else old, "i": ticket_id}))
    assert client.get(f"/live/tickets/{ticket_id}").json()["others"] == []
    # Ada's next heartbeat, on another ticket, deletes the row of the page she closed.
    with Browser(base_url=live_server.url, follow_redirects=False) as ada:
        ada.sign_in(org.admin.email)
        ada.get(f"/live/tickets/{create_ticket(http, org.tenant, title='Next')['ticketId']}?heartbeat=1")
    assert count(db, "select count(*) from ticket_presence where ticket_id = :i", i=ticket_id) == 0

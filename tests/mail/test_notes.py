"""Internal notes through addMessage: shown to agents, marked, never announced."""

from __future__ import annotations

from tests.support.databases import count


def test_a_note_is_stored_marked_and_announces_nothing(http, tenant, db):
    ticket_id = http.post("/api/ext-v1/ticket/createTicket", headers=tenant.headers,
                          json={"title": "Router", "customerEmail": "n@example.com"}).json()["ticketId"]
    before = count(db, "SELECT count(*) FROM outbox WHERE organization_id = :o", o=tenant.id)
    note = http.post("/api/ext-v1/ticket/addMessage", headers=tenant.headers,
                     json={"ticketId": ticket_id, "role": "agent", "content": "Customer is a VIP", "internal": True})
    assert note.status_code == 200, note.text
    assert note.json()["internal"] is True
    messages = http.get(f"/api/ext-v1/ticket/getTicket/{ticket_id}", headers=tenant.headers).json()["ticket"]["messages"]
    assert [(m["content"], m["internal"], m["channel"]) for m in messages] == [("Customer is a VIP", True, "api")]
    assert count(db, "SELECT count(*) FROM outbox WHERE organization_id = :o", o=tenant.id) == before


def test_a_customer_message_cannot_be_internal(http, tenant):
    ticket_id = http.post("/api/ext-v1/ticket/createTicket", headers=tenant.headers,
                          json={"title": "Router", "customerEmail": "n@example.com"}).json()["ticketId"]
    response = http.post("/api/ext-v1/ticket/addMessage", headers=tenant.headers,
                         json={"ticketId": ticket_id, "role": "customer", "content": "hi", "internal": True})
    assert response.status_code == 400
    assert response.json()["field"] == "internal"
    wrong_type = http.post("/api/ext-v1/ticket/addMessage", headers=tenant.headers,
                           json={"ticketId": ticket_id, "role": "agent", "content": "hi", "internal": "yes"})
    assert wrong_type.status_code == 400 and wrong_type.json()["field"] == "internal"

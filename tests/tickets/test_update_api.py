"""updateTicket and addMessage: following a ticket from open to resolved, and every way to get it wrong.

Each error case checks what the client sees and that nothing changed in the database. Every case
runs on SQLite and PostgreSQL. ``tenant`` is organization A, ``other_tenant`` organization B.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from telemetron.categories.service import add_category
from telemetron.db.scoped import Scoped
from telemetron.members.service import add_member
from tests.support.databases import count
from tests.support.http import rejected as assert_error

CREATE = "/api/ext-v1/ticket/createTicket"
GET = "/api/ext-v1/ticket/getTicket/{}"
QUERY = "/api/ext-v1/ticket/queryTickets"
UPDATE = "/api/ext-v1/ticket/updateTicket"
ADD_MESSAGE = "/api/ext-v1/ticket/addMessage"
MAX_TEXT = 65536
OMIT = object()  # a field to leave out of the body


# --- helpers -----------------------------------------------------------------------------------


def create(http, tenant, **fields) -> str:
    body = {"title": "Device not connecting to WiFi", "customerEmail": "jane.roe@example.com", **fields}
    response = http.post(CREATE, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticketId"]


def got(http, tenant, ticket_id: str) -> dict:
    response = http.get(GET.format(ticket_id), headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


def update(http, tenant, **body):
    return http.post(UPDATE, json=body, headers=tenant.headers)


def updated(http, tenant, **body) -> dict:
    response = update(http, tenant, **body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert result["message"] == "Ticket updated successfully"
    assert result["ticket"] == got(http, tenant, body["ticketId"])  # the ticket as getTicket shows it
    return result


def add(http, tenant, headers: dict | None = None, **body):
    return http.post(ADD_MESSAGE, json=body, headers={**tenant.headers, **(headers or {})})


def added(http, tenant, **body) -> dict:
    response = add(http, tenant, **body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert result["message"] == "Message added successfully"
    assert "idempotent-replayed" not in response.headers
    return result


def member(db, tenant, email: str = "sam.agent@example.com", name: str | None = "Sam Agent") -> dict:
    return db.run_sync(lambda conn: add_member(Scoped(db, conn, tenant.id), email=email, name=name))


def ticket_row(db, ticket_id: str) -> dict:
    sql = (
        "select status, priority, category_id, category_source, category_confidence, assignee_id,"
        " resolved_at, updated_at from tickets where id = :t"
    )
    with db.engine.connect() as conn:
        return dict(conn.execute(text(sql), {"t": ticket_id}).mappings().one())


def messages_of(db, ticket_id: str) -> list[tuple]:
    sql = "select position, role, content from ticket_messages where ticket_id = :t order by position"
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), {"t": ticket_id})]


def stored(db, tenant) -> dict:
    """Everything of the organization's that these endpoints could change."""
    with db.engine.connect() as conn:
        tickets = conn.execute(
            text(
                "select id, status, priority, category_id, category_source, assignee_id, resolved_at, updated_at"
                " from tickets where organization_id = :o order by id"
            ),
            {"o": tenant.id},
        ).all()
    return {
        "tickets": [tuple(t) for t in tickets],
        "messages": count(db, "select count(*) from ticket_messages where organization_id = :o", o=tenant.id),
        "keys": count(db, "select count(*) from idempotency_keys where organization_id = :o", o=tenant.id),
    }


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- updateTicket: changes ------------------------------------------------------------------------


@pytest.mark.parametrize("written, status", [("in progress", "in_progress"), ("Waiting for customer", "waiting_for_customer"),
                                             ("Resolved", "resolved"), ("waiting-for-customer", "waiting_for_customer")])
def test_status_written_as_the_documentation_words_it_is_understood(http, db, tenant, written, status):
    ticket_id = create(http, tenant)
    result = updated(http, tenant, ticketId=ticket_id, status=written)
    assert result["ticket"]["status"] == status
    assert ticket_row(db, ticket_id)["status"] == status


def test_a_misspelt_ticket_id_is_named_in_the_error(http, db, tenant):
    create(http, tenant)
    body = assert_error(http.post(UPDATE, json={"ticket_id": "x", "status": "open"}, headers=tenant.headers),
                        400, "missing_field", "ticketId", ["got 'ticket_id'", "did you mean 'ticketId'"])
    assert body


def test_status_changes_and_resolving_stamps_resolved_at(http, db, tenant):
    ticket_id = create(http, tenant)
    created = got(http, tenant, ticket_id)

    result = updated(http, tenant, ticketId=ticket_id, status="in_progress")
    assert result["changed"] == ["status"]
    assert result["ticket"]["status"] == "in_progress"
    assert result["ticket"]["resolvedAt"] is None
    assert at(result["ticket"]["updatedAt"]) > at(created["updatedAt"])
    assert result["ticket"]["createdAt"] == created["createdAt"]

    resolved = updated(http, tenant, ticketId=ticket_id, status="resolved")["ticket"]
    assert resolved["status"] == "resolved"
    assert resolved["resolvedAt"] is not None
    assert resolved["resolvedAt"] == resolved["updatedAt"]
    row = ticket_row(db, ticket_id)
    assert row["status"] == "resolved" and row["resolved_at"] is not None

    waiting = updated(http, tenant, ticketId=ticket_id, status="waiting_for_customer")["ticket"]
    assert waiting["status"] == "waiting_for_customer"
    assert waiting["resolvedAt"] is None  # reopening clears it
    assert ticket_row(db, ticket_id)["resolved_at"] is None


def test_resolving_twice_keeps_the_first_resolved_at(http, tenant):
    ticket_id = create(http, tenant)
    first = updated(http, tenant, ticketId=ticket_id, status="resolved")["ticket"]
    again = updated(http, tenant, ticketId=ticket_id, status="resolved")
    assert again["changed"] == []
    assert again["ticket"]["resolvedAt"] == first["resolvedAt"]
    assert again["ticket"]["updatedAt"] == first["updatedAt"]


def test_priority_changes(http, db, tenant):
    ticket_id = create(http, tenant, priority="low")
    result = updated(http, tenant, ticketId=ticket_id, priority="urgent")
    assert result["changed"] == ["priority"]
    assert result["ticket"]["priority"] == "urgent"
    assert ticket_row(db, ticket_id)["priority"] == "urgent"


def test_category_set_by_name_ignoring_case_becomes_provided(http, db, tenant):
    ticket_id = create(http, tenant)
    assert got(http, tenant, ticket_id)["categorySource"] == "none"
    result = updated(http, tenant, ticketId=ticket_id, category="  battery ")
    assert result["changed"] == ["category"]
    assert result["ticket"]["category"] == "Battery"
    assert result["ticket"]["categorySource"] == "provided"
    assert result["ticket"]["categoryConfidence"] is None
    row = ticket_row(db, ticket_id)
    assert row["category_source"] == "provided" and row["category_id"] is not None


def test_an_agent_correcting_the_ai_makes_the_category_provided(http, db, tenant):
    ticket_id = create(http, tenant, category="Battery")
    with db.engine.begin() as conn:  # as the AI categorizer leaves it
        conn.execute(
            text("update tickets set category_source = 'ai', category_confidence = 0.62 where id = :t"), {"t": ticket_id}
        )
    assert got(http, tenant, ticket_id)["categoryConfidence"] == pytest.approx(0.62)
    # Confirming the AI's category is a change of source.
    confirmed = updated(http, tenant, ticketId=ticket_id, category="Battery")
    assert confirmed["changed"] == ["category"]
    assert confirmed["ticket"]["categorySource"] == "provided"
    assert confirmed["ticket"]["categoryConfidence"] is None
    assert ticket_row(db, ticket_id)["category_confidence"] is None


def test_category_null_removes_it(http, db, tenant):
    ticket_id = create(http, tenant, category="Billing")
    result = updated(http, tenant, ticketId=ticket_id, category=None)
    assert result["changed"] == ["category"]
    assert result["ticket"]["category"] is None
    assert result["ticket"]["categorySource"] == "none"
    row = ticket_row(db, ticket_id)
    assert row["category_id"] is None and row["category_source"] == "none"
    assert updated(http, tenant, ticketId=ticket_id, category=None)["changed"] == []


def test_assign_and_unassign(http, db, tenant):
    sam = member(db, tenant)
    ticket_id = create(http, tenant)
    result = updated(http, tenant, ticketId=ticket_id, assigneeId=sam["id"])
    assert result["changed"] == ["assigneeId"]
    assert result["ticket"]["assignee"] == {"id": sam["id"], "email": "sam.agent@example.com", "name": "Sam Agent"}
    assert ticket_row(db, ticket_id)["assignee_id"] == sam["id"]

    result = updated(http, tenant, ticketId=ticket_id, assigneeId=None)
    assert result["changed"] == ["assigneeId"]
    assert result["ticket"]["assignee"] is None
    assert ticket_row(db, ticket_id)["assignee_id"] is None


def test_an_unavailable_member_can_be_assigned_by_hand(http, db, tenant):
    away = db.run_sync(
        lambda conn: add_member(Scoped(db, conn, tenant.id), email="away@example.com", available=False)
    )
    ticket_id = create(http, tenant)
    assert updated(http, tenant, ticketId=ticket_id, assigneeId=away["id"])["ticket"]["assignee"]["id"] == away["id"]


def test_several_changes_at_once(http, db, tenant):
    sam = member(db, tenant)
    ticket_id = create(http, tenant)
    result = updated(
        http, tenant, ticketId=ticket_id, status="in_progress", priority="high", category="Connectivity", assigneeId=sam["id"]
    )
    assert result["changed"] == ["status", "priority", "category", "assigneeId"]
    ticket = result["ticket"]
    assert (ticket["status"], ticket["priority"], ticket["category"], ticket["assignee"]["id"]) == (
        "in_progress", "high", "Connectivity", sam["id"],
    )


def test_sending_current_values_changes_nothing(http, db, tenant):
    ticket_id = create(http, tenant, priority="high")
    before = ticket_row(db, ticket_id)
    result = updated(http, tenant, ticketId=ticket_id, status="open", priority="high", assigneeId=None, category=None)
    assert result["changed"] == []
    assert ticket_row(db, ticket_id) == before


def test_unknown_fields_are_warnings(http, tenant):
    ticket_id = create(http, tenant)
    result = updated(http, tenant, ticketId=ticket_id, status="resolved", assignee_id="mem_x")
    assert result["warnings"] == ["Unknown field 'assignee_id' was ignored (did you mean 'assigneeId'?)"]


def test_update_accepts_the_ticket_id_in_upper_case(http, tenant):
    ticket_id = create(http, tenant)
    response = update(http, tenant, ticketId=ticket_id.upper(), status="resolved")
    assert response.status_code == 200
    assert response.json()["ticket"]["id"] == ticket_id


# --- updateTicket: errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, status, code, field, words",
    [
        ({}, 400, "nothing_to_update", None, ["status", "priority", "category", "assigneeId"]),
        ({"status": "closed"}, 400, "invalid_status", "status", ["closed", "waiting_for_customer"]),
        ({"status": "in  progres"}, 400, "invalid_status", "status", ["in_progress"]),
        ({"status": None}, 400, "invalid_type", "status", ["null"]),
        ({"status": 1}, 400, "invalid_status", "status", []),
        ({"priority": "critical"}, 400, "invalid_priority", "priority", ["urgent"]),
        ({"priority": None}, 400, "invalid_type", "priority", ["null"]),
        ({"category": ""}, 400, "empty_field", "category", ["null"]),
        ({"category": 7}, 400, "invalid_type", "category", ["string"]),
        ({"category": "Bat\u0000tery"}, 400, "invalid_character", "category", []),
        ({"category": "Firmware"}, 404, "category_not_found", "category", ["Firmware"]),
        ({"category": "Legacy"}, 400, "category_inactive", "category", ["inactive"]),
        ({"assigneeId": ""}, 400, "empty_field", "assigneeId", ["null"]),
        ({"assigneeId": 12}, 400, "invalid_type", "assigneeId", ["string"]),
        ({"assigneeId": "mem_000000000000"}, 404, "member_not_found", "assigneeId", ["member"]),
        ({"assigneeId": "mem_\u0000"}, 400, "invalid_character", "assigneeId", []),
        ({"ticketId": "t\u0000"}, 400, "invalid_character", "ticketId", []),
        # A valid change with an invalid one: nothing at all changes.
        ({"status": "resolved", "assigneeId": "mem_000000000000"}, 404, "member_not_found", "assigneeId", []),
        ({"priority": "urgent", "category": "Firmware"}, 404, "category_not_found", "category", []),
    ],
)
def test_update_errors_change_nothing(http, db, tenant, fields, status, code, field, words):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, tenant.id), name="Legacy", active=False))
    ticket_id = create(http, tenant, category="Battery")
    before = stored(db, tenant)
    assert_error(update(http, tenant, **{"ticketId": ticket_id, **fields}), status, code, field, words)
    assert stored(db, tenant) == before


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"status": "resolved"}, "missing_field", "ticketId"),
        ({"ticketId": 42, "status": "resolved"}, "invalid_type", "ticketId"),
        ({"ticketId": None, "status": "resolved"}, "invalid_type", "ticketId"),
    ],
)
def test_update_without_a_ticket_id_is_400(http, tenant, body, code, field):
    assert_error(http.post(UPDATE, json=body, headers=tenant.headers), 400, code, field)


@pytest.mark.parametrize(
    "content, code",
    [(b"{not json", "invalid_json"), (b"", "invalid_json"), (b"[1]", "invalid_body"), (b"null", "invalid_body")],
)
def test_update_with_a_body_that_is_not_an_object_is_400(http, tenant, content, code):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    assert_error(http.post(UPDATE, content=content, headers=headers), 400, code)


@pytest.mark.parametrize("ticket_id", ["not-a-uuid", "", str(uuid.uuid4())], ids=["word", "empty", "unknown"])
def test_update_of_a_ticket_that_does_not_exist_is_404(http, tenant, ticket_id):
    body = assert_error(update(http, tenant, ticketId=ticket_id, status="resolved"), 404, "ticket_not_found", "ticketId")
    assert body["error"] == "Ticket not found"


def test_update_of_another_organizations_ticket_is_404_and_changes_nothing(http, db, tenant, other_tenant):
    ticket_id = create(http, tenant)
    their_member = member(db, other_tenant)
    before = stored(db, tenant)
    for fields in ({"status": "resolved"}, {"priority": "urgent"}, {"category": "Billing"}, {"assigneeId": their_member["id"]}):
        assert_error(update(http, other_tenant, ticketId=ticket_id, **fields), 404, "ticket_not_found")
    assert stored(db, tenant) == before


def test_assigning_another_organizations_member_is_404(http, db, tenant, other_tenant):
    theirs = member(db, other_tenant, email="theirs@example.com")
    ticket_id = create(http, tenant)
    before = stored(db, tenant)
    assert_error(update(http, tenant, ticketId=ticket_id, assigneeId=theirs["id"]), 404, "member_not_found", "assigneeId")
    assert stored(db, tenant) == before


def test_another_organizations_category_name_is_not_found(http, db, tenant, other_tenant):
    db.run_sync(lambda conn: add_category(Scoped(db, conn, other_tenant.id), name="Firmware"))
    ticket_id = create(http, tenant)
    assert_error(update(http, tenant, ticketId=ticket_id, category="Firmware"), 404, "category_not_found")


@pytest.mark.parametrize("key", [None, "tlm_wrong"], ids=["no-key", "bad-key"])
@pytest.mark.parametrize(
    "body",
    [{"status": "resolved"}, {"status": "closed"}, {}, {"ticketId": "nope", "status": "resolved"}],
    ids=["valid", "bad-status", "nothing", "bad-id"],
)
def test_update_without_a_valid_key_is_401_whatever_the_body(http, db, tenant, key, body):
    ticket_id = create(http, tenant)
    before = stored(db, tenant)
    headers = {"x-api-key": key} if key else {}
    response = http.post(UPDATE, json={"ticketId": ticket_id, **body}, headers=headers)
    assert_error(response, 401, "invalid_api_key" if key else "missing_api_key")
    assert stored(db, tenant) == before


# --- addMessage -----------------------------------------------------------------------------------


def test_messages_are_appended_in_order(http, db, tenant):
    ticket_id = create(http, tenant, messages=[{"role": "customer", "content": "It does not connect."}])
    created = got(http, tenant, ticket_id)
    first = added(http, tenant, ticketId=ticket_id, role="agent", content="Could you restart it?")
    assert first["position"] == 1
    assert first["ticketStatus"] == "open"
    assert first["reopened"] is False
    assert first["warnings"] == []
    assert isinstance(first["messageId"], int)
    second = added(http, tenant, ticketId=ticket_id, role="bot", content="Restarting usually helps.")
    assert second["position"] == 2
    assert second["messageId"] != first["messageId"]
    ticket = got(http, tenant, ticket_id)
    assert [(m["position"], m["role"], m["content"]) for m in ticket["messages"]] == [
        (0, "customer", "It does not connect."),
        (1, "agent", "Could you restart it?"),
        (2, "bot", "Restarting usually helps."),
    ]
    assert [m["id"] for m in ticket["messages"][1:]] == [first["messageId"], second["messageId"]]
    assert at(ticket["updatedAt"]) > at(created["updatedAt"])
    assert ticket["messages"][2]["createdAt"] == ticket["updatedAt"]
    assert messages_of(db, ticket_id)[1:] == [(1, "agent", "Could you restart it?"), (2, "bot", "Restarting usually helps.")]


def test_first_message_on_a_ticket_without_messages_is_position_0(http, tenant):
    ticket_id = create(http, tenant)
    assert added(http, tenant, ticketId=ticket_id, role="customer", content="Hello")["position"] == 0


def test_content_is_stored_exactly(http, db, tenant):
    ticket_id = create(http, tenant)
    content = "  Line one\n\tLine two — ünïcödé 🚀  "
    added(http, tenant, ticketId=ticket_id, role="agent", content=content)
    assert messages_of(db, ticket_id) == [(0, "agent", content)]


def test_content_of_exactly_64_kib_is_accepted(http, db, tenant):
    ticket_id = create(http, tenant)
    added(http, tenant, ticketId=ticket_id, role="customer", content="x" * MAX_TEXT)
    assert len(messages_of(db, ticket_id)[0][2]) == MAX_TEXT


def test_a_customer_message_reopens_a_resolved_ticket(http, db, tenant):
    ticket_id = create(http, tenant)
    updated(http, tenant, ticketId=ticket_id, status="resolved")
    result = added(http, tenant, ticketId=ticket_id, role="customer", content="It broke again.")
    assert result["reopened"] is True
    assert result["ticketStatus"] == "open"
    ticket = got(http, tenant, ticket_id)
    assert ticket["status"] == "open"
    assert ticket["resolvedAt"] is None
    row = ticket_row(db, ticket_id)
    assert row["status"] == "open" and row["resolved_at"] is None


@pytest.mark.parametrize("role", ["agent", "bot"])
def test_an_agent_or_bot_message_leaves_a_resolved_ticket_resolved(http, tenant, role):
    ticket_id = create(http, tenant)
    resolved_at = updated(http, tenant, ticketId=ticket_id, status="resolved")["ticket"]["resolvedAt"]
    result = added(http, tenant, ticketId=ticket_id, role=role, content="Closing note.")
    assert result["reopened"] is False
    assert result["ticketStatus"] == "resolved"
    assert got(http, tenant, ticket_id)["resolvedAt"] == resolved_at


@pytest.mark.parametrize("status", ["open", "in_progress", "waiting_for_customer"])
def test_a_customer_message_on_an_unresolved_ticket_keeps_its_status(http, tenant, status):
    ticket_id = create(http, tenant)
    if status != "open":
        updated(http, tenant, ticketId=ticket_id, status=status)
    result = added(http, tenant, ticketId=ticket_id, role="customer", content="Any news?")
    assert result["reopened"] is False
    assert result["ticketStatus"] == status


def test_add_message_names_unknown_fields_in_warnings(http, tenant):
    ticket_id = create(http, tenant)
    result = added(http, tenant, ticketId=ticket_id, role="agent", content="Hi", author="sam")
    assert result["warnings"] == ["Unknown field 'author' was ignored"]


@pytest.mark.parametrize(
    "fields, code, field, words",
    [
        ({"content": OMIT}, "missing_field", "content", ["content"]),
        ({"role": OMIT}, "missing_field", "role", ["role"]),
        ({"ticketId": OMIT}, "missing_field", "ticketId", ["ticketId"]),
        ({"content": ""}, "empty_field", "content", ["empty"]),
        ({"content": " \n\t "}, "empty_field", "content", ["empty"]),
        ({"content": "x" * (MAX_TEXT + 1)}, "field_too_long", "content", ["65536", "65537"]),
        ({"content": "\U0001F680" * 16385}, "field_too_long", "content", ["65536 bytes", "65540"]),  # 4 bytes each
        ({"content": 5}, "invalid_type", "content", ["string"]),
        ({"content": None}, "invalid_type", "content", []),
        ({"content": "a\u0000b"}, "invalid_character", "content", ["NUL"]),
        ({"ticketId": "\u0000"}, "invalid_character", "ticketId", []),
        ({"role": "admin"}, "invalid_role", "role", ["admin", "customer", "agent", "bot"]),
        ({"role": "Customer"}, "invalid_role", "role", []),
        ({"ticketId": 1}, "invalid_type", "ticketId", []),
    ],
)
def test_add_message_errors_store_nothing(http, db, tenant, fields, code, field, words):
    ticket_id = create(http, tenant)
    body = {"ticketId": ticket_id, "role": "agent", "content": "Hello", **fields}
    body = {k: v for k, v in body.items() if v is not OMIT}
    before = stored(db, tenant)
    assert_error(add(http, tenant, **body), 400, code, field, words)
    assert stored(db, tenant) == before


@pytest.mark.parametrize(
    "content, code",
    [(b"{not json", "invalid_json"), (b"", "invalid_json"), (b"[]", "invalid_body"), (b"3", "invalid_body")],
)
def test_add_message_with_a_body_that_is_not_an_object_is_400(http, tenant, content, code):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    assert_error(http.post(ADD_MESSAGE, content=content, headers=headers), 400, code)


def test_add_message_over_the_body_limit_is_413(http, db, tenant):
    ticket_id = create(http, tenant)
    before = stored(db, tenant)
    response = add(http, tenant, ticketId=ticket_id, role="agent", content="x" * (1024 * 1024 + 1))
    assert_error(response, 413, "body_too_large")
    assert stored(db, tenant) == before


@pytest.mark.parametrize("ticket_id", ["not-a-uuid", "", str(uuid.uuid4())], ids=["word", "empty", "unknown"])
def test_add_message_to_a_ticket_that_does_not_exist_is_404(http, db, tenant, ticket_id):
    before = stored(db, tenant)
    body = assert_error(add(http, tenant, ticketId=ticket_id, role="agent", content="Hi"), 404, "ticket_not_found", "ticketId")
    assert body["error"] == "Ticket not found"
    assert stored(db, tenant) == before


def test_add_message_to_another_organizations_ticket_is_404_and_stores_nothing(http, db, tenant, other_tenant):
    ticket_id = create(http, tenant)
    updated(http, tenant, ticketId=ticket_id, status="resolved")
    mine, theirs = stored(db, tenant), stored(db, other_tenant)
    for role in ("customer", "agent"):
        response = add(http, other_tenant, ticketId=ticket_id, role=role, content="Hi")
        assert_error(response, 404, "ticket_not_found")
        response = add(http, other_tenant, headers={"Idempotency-Key": f"k-{role}"}, ticketId=ticket_id, role=role, content="Hi")
        assert_error(response, 404, "ticket_not_found")
    assert stored(db, tenant) == mine  # still resolved, no message
    assert stored(db, other_tenant) == theirs  # not even an idempotency key


@pytest.mark.parametrize("key", [None, "tlm_wrong"], ids=["no-key", "bad-key"])
@pytest.mark.parametrize(
    "body",
    [{"role": "agent", "content": "Hi"}, {"role": "admin", "content": ""}, {"role": "agent"}],
    ids=["valid", "invalid", "incomplete"],
)
def test_add_message_without_a_valid_key_is_401_whatever_the_body(http, db, tenant, key, body):
    ticket_id = create(http, tenant)
    before = stored(db, tenant)
    headers = {"x-api-key": key, "Idempotency-Key": "abc"} if key else {"Idempotency-Key": "abc"}
    response = http.post(ADD_MESSAGE, json={"ticketId": ticket_id, **body}, headers=headers)
    assert_error(response, 401, "invalid_api_key" if key else "missing_api_key")
    assert stored(db, tenant) == before


# --- addMessage: Idempotency-Key ------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_answer_and_adds_one_message(http, db, tenant):
    ticket_id = create(http, tenant)
    updated(http, tenant, ticketId=ticket_id, status="resolved")
    key = {"Idempotency-Key": f"reply-{uuid.uuid4()}"}
    body = {"ticketId": ticket_id, "role": "customer", "content": "It broke again."}
    first = add(http, tenant, headers=key, **body)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert first.json()["reopened"] is True
    # Meanwhile the ticket is resolved again; the retry still gets the first answer, and adds nothing.
    updated(http, tenant, ticketId=ticket_id, status="resolved")
    again = add(http, tenant, headers=key, **body)
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content
    assert len(messages_of(db, ticket_id)) == 1
    assert got(http, tenant, ticket_id)["status"] == "resolved"


def test_same_key_with_another_body_is_422(http, db, tenant):
    ticket_id = create(http, tenant)
    key = {"Idempotency-Key": f"reply-{uuid.uuid4()}"}
    added_first = add(http, tenant, headers=key, ticketId=ticket_id, role="agent", content="One")
    assert added_first.status_code == 200
    before = stored(db, tenant)
    response = add(http, tenant, headers=key, ticketId=ticket_id, role="agent", content="Two")
    assert_error(response, 422, "idempotency_key_reused", "Idempotency-Key")
    assert stored(db, tenant) == before


def test_a_create_ticket_key_cannot_be_reused_for_add_message(http, db, tenant):
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    response = http.post(
        CREATE, json={"title": "T", "customerEmail": "ann@example.com"}, headers={**tenant.headers, **key}
    )
    assert response.status_code == 200
    ticket_id = response.json()["ticketId"]
    before = stored(db, tenant)
    response = add(http, tenant, headers=key, ticketId=ticket_id, role="agent", content="Hi")
    assert_error(response, 422, "idempotency_key_reused", words=["already used for another call (ticket/createTicket)"])
    assert stored(db, tenant) == before


def test_a_failed_request_does_not_keep_its_key(http, db, tenant):
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    ticket_id = create(http, tenant)
    assert add(http, tenant, headers=key, ticketId=str(uuid.uuid4()), role="agent", content="Hi").status_code == 404
    assert stored(db, tenant)["keys"] == 0
    assert add(http, tenant, headers=key, ticketId=ticket_id, role="agent", content="Hi").status_code == 200


@pytest.mark.parametrize("value", ["", "x" * 256, "tab\there"], ids=["empty", "too-long", "control"])
def test_a_bad_idempotency_key_is_400(http, db, tenant, value):
    ticket_id = create(http, tenant)
    before = stored(db, tenant)
    response = add(http, tenant, headers={"Idempotency-Key": value}, ticketId=ticket_id, role="agent", content="Hi")
    assert_error(response, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert stored(db, tenant) == before


def test_keys_are_per_organization(http, db, tenant, other_tenant):
    key = {"Idempotency-Key": f"same-{uuid.uuid4()}"}
    mine, theirs = create(http, tenant), create(http, other_tenant)
    assert add(http, tenant, headers=key, ticketId=mine, role="agent", content="Hi").status_code == 200
    response = add(http, other_tenant, headers=key, ticketId=theirs, role="agent", content="Hi")
    assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    assert len(messages_of(db, theirs)) == 1


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_messages_on_one_ticket_get_distinct_positions(live_server, db, tenant):
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        ticket_id = create(client, tenant)

    def send(i: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            return add(client, tenant, ticketId=ticket_id, role="customer", content=f"message {i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(send, range(40)))
    assert [r.status_code for r in responses] == [200] * 40, [r.text for r in responses if r.status_code != 200]
    assert sorted(r.json()["position"] for r in responses) == list(range(40))
    stored_messages = messages_of(db, ticket_id)
    assert [p for p, _, _ in stored_messages] == list(range(40))
    assert sorted(c for _, _, c in stored_messages) == sorted(f"message {i}" for i in range(40))


def test_concurrent_retries_with_one_key_add_one_message(live_server, db, tenant):
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        ticket_id = create(client, tenant)
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            return add(client, tenant, headers=key, ticketId=ticket_id, role="agent", content="Only once")

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(send, range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert len({r.content for r in responses}) == 1
    assert len(messages_of(db, ticket_id)) == 1


# --- the whole life of a ticket -------------------------------------------------------------------


def test_a_ticket_from_open_to_resolved_and_reopened(http, db, tenant):
    sam = member(db, tenant)
    created = http.post(
        CREATE,
        json={
            "title": "Device not connecting to WiFi",
            "customerEmail": "john.doe@example.com",
            "priority": "high",
            "category": "Connectivity",
            "messages": [{"role": "customer", "content": "It stopped connecting after the update."}],
        },
        headers=tenant.headers,
    )
    assert created.status_code == 200
    ticket_id = created.json()["ticketId"]

    ticket = got(http, tenant, ticket_id)
    assert (ticket["status"], ticket["assignee"], ticket["resolvedAt"]) == ("open", None, None)
    assert [m["role"] for m in ticket["messages"]] == ["customer"]

    reply = added(http, tenant, ticketId=ticket_id, role="agent", content="Could you reset the network settings?")
    assert (reply["position"], reply["ticketStatus"], reply["reopened"]) == (1, "open", False)

    taken = updated(http, tenant, ticketId=ticket_id, status="in_progress", assigneeId=sam["id"])
    assert taken["changed"] == ["status", "assigneeId"]
    assert taken["ticket"]["assignee"]["email"] == "sam.agent@example.com"

    resolved = updated(http, tenant, ticketId=ticket_id, status="resolved")["ticket"]
    assert resolved["status"] == "resolved" and resolved["resolvedAt"] is not None
    open_now = http.post(QUERY, json={"status": "open"}, headers=tenant.headers).json()
    assert ticket_id not in [t["id"] for t in open_now["tickets"]]

    again = added(http, tenant, ticketId=ticket_id, role="customer", content="It happened again this morning.")
    assert (again["position"], again["ticketStatus"], again["reopened"]) == (2, "open", True)

    page = http.post(QUERY, json={"status": "open"}, headers=tenant.headers).json()
    found = [t for t in page["tickets"] if t["id"] == ticket_id]
    assert len(found) == 1
    summary = found[0]
    assert summary["status"] == "open"
    assert summary["resolvedAt"] is None
    assert summary["assignee"]["id"] == sam["id"]  # still Sam's
    assert summary["category"] == "Connectivity"
    final = got(http, tenant, ticket_id)
    assert [(m["position"], m["role"]) for m in final["messages"]] == [(0, "customer"), (1, "agent"), (2, "customer")]
    assert at(final["updatedAt"]) > at(resolved["updatedAt"])
    assert count(db, "select count(*) from ticket_messages where ticket_id = :t", t=ticket_id) == 3

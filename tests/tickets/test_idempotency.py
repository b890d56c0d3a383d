"""Idempotency-Key on createTicket: a retried request gets the first answer back, never a second ticket.

Sequential cases only: each request finishes before the next is sent.
"""

from __future__ import annotations

import json
import uuid

from telemetron.orgs.apikeys import create_api_key
from tests.support.databases import count
from tests.support.tenants import Tenant

PATH = "/api/ext-v1/ticket/createTicket"


# --- helpers -----------------------------------------------------------------------------------


def new_key() -> str:
    return f"retry-{uuid.uuid4()}"


def body(**fields) -> dict:
    return {
        "title": "Device overheating during charging",
        "customerEmail": "john.doe@example.com",
        "priority": "high",
        "category": "Battery",
        "messages": [
            {"role": "customer", "content": "My device gets very hot when I plug it in to charge."},
            {"role": "bot", "content": "How long has this been happening?"},
        ],
        **fields,
    }


def send(http, tenant: Tenant, key: str | None, *, json_body=None, content: bytes | None = None):
    headers = {**tenant.headers, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if content is None:
        content = json.dumps(json_body).encode()
    return http.post(PATH, content=content, headers=headers)


def tickets_of(db, tenant: Tenant) -> int:
    return count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id)


def keys_of(db, tenant: Tenant) -> int:
    return count(db, "select count(*) from idempotency_keys where organization_id = :o", o=tenant.id)


def assert_first_answer(response) -> dict:
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    return response.json()


def assert_replay_of(first, again) -> None:
    assert again.status_code == first.status_code
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert again.content == first.content
    assert again.headers.get("x-request-id")


# --- replays ------------------------------------------------------------------------------------


def test_same_key_and_body_twice_replays_the_first_answer(http, db, tenant):
    key = new_key()
    first = send(http, tenant, key, json_body=body())
    created = assert_first_answer(first)
    again = send(http, tenant, key, json_body=body())
    assert_replay_of(first, again)
    assert tickets_of(db, tenant) == 1
    assert count(db, "select count(*) from tickets where id = :t", t=created["ticketId"]) == 1
    assert count(db, "select count(*) from ticket_messages where organization_id = :o", o=tenant.id) == 2
    assert count(db, "select count(*) from customers where organization_id = :o", o=tenant.id) == 1


def test_replay_keeps_customer_created_as_first_answered(http, db, tenant):
    """The replay is the stored answer, not a new one: customerCreated stays true."""
    key = new_key()
    first = send(http, tenant, key, json_body=body(customerEmail="fresh@example.com"))
    assert assert_first_answer(first)["customerCreated"] is True
    again = send(http, tenant, key, json_body=body(customerEmail="fresh@example.com"))
    assert_replay_of(first, again)
    assert again.json()["customerCreated"] is True


def test_many_retries_make_one_ticket(http, db, tenant):
    key = new_key()
    first = send(http, tenant, key, json_body=body())
    assert_first_answer(first)
    for _ in range(5):
        assert_replay_of(first, send(http, tenant, key, json_body=body()))
    assert tickets_of(db, tenant) == 1


def test_key_order_and_whitespace_do_not_matter(http, db, tenant):
    key = new_key()
    first = send(http, tenant, key, json_body=body())
    assert_first_answer(first)
    # The same JSON value: keys reordered (also inside messages), other spacing and indentation.
    reordered = dict(reversed(list(body().items())))
    reordered["messages"] = [dict(reversed(list(m.items()))) for m in reordered["messages"]]
    content = json.dumps(reordered, indent=4, separators=(" ,", " :  ")).encode() + b"\n\n"
    assert content != json.dumps(body()).encode()
    again = send(http, tenant, key, content=content)
    assert_replay_of(first, again)
    assert tickets_of(db, tenant) == 1


def test_same_key_with_another_body_is_422(http, db, tenant):
    key = new_key()
    assert_first_answer(send(http, tenant, key, json_body=body()))
    response = send(http, tenant, key, json_body=body(priority="low"))
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in error["error"] and "different" in error["error"]
    assert "success" not in error
    assert "idempotent-replayed" not in response.headers
    assert tickets_of(db, tenant) == 1
    # The first answer is still there for a true retry.
    assert send(http, tenant, key, json_body=body()).headers.get("idempotent-replayed") == "true"


def test_without_a_key_each_request_makes_a_ticket(http, db, tenant):
    one = assert_first_answer(send(http, tenant, None, json_body=body()))
    two = assert_first_answer(send(http, tenant, None, json_body=body()))
    assert one["ticketId"] != two["ticketId"]
    assert tickets_of(db, tenant) == 2
    assert keys_of(db, tenant) == 0


def test_different_keys_make_different_tickets(http, db, tenant):
    one = assert_first_answer(send(http, tenant, new_key(), json_body=body()))
    two = assert_first_answer(send(http, tenant, new_key(), json_body=body()))
    assert one["ticketId"] != two["ticketId"]
    assert tickets_of(db, tenant) == 2


def test_keys_are_per_organization(http, db, tenant, other_tenant):
    key = new_key()
    in_a = assert_first_answer(send(http, tenant, key, json_body=body()))
    in_b = assert_first_answer(send(http, other_tenant, key, json_body=body()))
    assert in_a["ticketId"] != in_b["ticketId"]
    assert in_a["customerId"] != in_b["customerId"]
    assert tickets_of(db, tenant) == 1
    assert tickets_of(db, other_tenant) == 1
    assert count(db, "select count(*) from tickets where id = :t and organization_id = :o", t=in_b["ticketId"], o=other_tenant.id) == 1


def test_keys_are_shared_by_the_keys_of_one_organization(http, db, tenant):
    """A retry sent with another API key of the same organization is still a retry."""
    second = db.run_sync(lambda conn: create_api_key(conn, org_id=tenant.id, name="second")).key
    key = new_key()
    first = send(http, tenant, key, json_body=body())
    assert_first_answer(first)
    again = http.post(PATH, json=body(), headers={"x-api-key": second, "Idempotency-Key": key})
    assert_replay_of(first, again)
    assert tickets_of(db, tenant) == 1


# --- failures are not remembered ------------------------------------------------------------------


def test_failed_request_is_not_cached(http, db, tenant):
    key = new_key()
    failing = {k: v for k, v in body(customerId="cust_0123456789ab").items() if k != "customerEmail"}

    first = send(http, tenant, key, json_body=failing)
    assert first.status_code == 404, first.text
    assert first.json()["code"] == "customer_not_found"
    assert tickets_of(db, tenant) == 0
    assert keys_of(db, tenant) == 0

    # The same request again is handled afresh (not a replay), and still fails.
    again = send(http, tenant, key, json_body=failing)
    assert again.status_code == 404, again.text
    assert again.json()["code"] == "customer_not_found"
    assert "idempotent-replayed" not in again.headers
    assert tickets_of(db, tenant) == 0
    assert keys_of(db, tenant) == 0

    # The key was never claimed: the corrected request may use it.
    fixed = send(http, tenant, key, json_body=body())
    assert_first_answer(fixed)
    assert tickets_of(db, tenant) == 1
    assert_replay_of(fixed, send(http, tenant, key, json_body=body()))


def test_invalid_request_with_a_key_is_not_cached(http, db, tenant):
    key = new_key()
    invalid = body(priority="critical")
    for _ in range(2):
        response = send(http, tenant, key, json_body=invalid)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_priority"
        assert "idempotent-replayed" not in response.headers
    assert keys_of(db, tenant) == 0
    assert_first_answer(send(http, tenant, key, json_body=body()))


# --- the key itself -----------------------------------------------------------------------------


def test_empty_key_is_400(http, db, tenant):
    response = send(http, tenant, "", json_body=body())
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "invalid_idempotency_key"
    assert error["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in error["error"]
    assert tickets_of(db, tenant) == 0
    assert keys_of(db, tenant) == 0


def test_300_character_key_is_400(http, db, tenant):
    response = send(http, tenant, "k" * 300, json_body=body())
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "invalid_idempotency_key"
    assert error["field"] == "Idempotency-Key"
    assert "255" in error["error"]
    assert tickets_of(db, tenant) == 0
    assert keys_of(db, tenant) == 0


def test_255_character_key_is_accepted(http, db, tenant):
    key = "k" * 254 + uuid.uuid4().hex[:1]
    first = send(http, tenant, key, json_body=body())
    assert_first_answer(first)
    assert_replay_of(first, send(http, tenant, key, json_body=body()))
    assert tickets_of(db, tenant) == 1


def test_missing_api_key_with_idempotency_key_is_401(http, db, tenant):
    response = http.post(PATH, json=body(), headers={"Idempotency-Key": new_key()})
    assert response.status_code == 401
    assert response.json()["code"] == "missing_api_key"
    assert "idempotent-replayed" not in response.headers


def test_a_key_stored_under_the_endpoints_url_path_still_replays(http, db, tenant):
    """Customers and devices once bound a key to the URL path ("/api/ext-v1/customer/..."); such a
    stored key is the same endpoint's, so a retry gets its stored answer, not a 422."""
    from sqlalchemy import text

    key = new_key()
    customer = {"email": "legacy@example.com", "name": "Lee"}
    url = "/api/ext-v1/customer/createOrUpdateCustomer"
    headers = {**tenant.headers, "Idempotency-Key": key}
    first = http.post(url, json=customer, headers=headers)
    assert first.status_code == 200, first.text
    db.run_sync(lambda conn: conn.execute(
        text("update idempotency_keys set endpoint = :e where key = :k"), {"e": url, "k": key}))
    again = http.post(url, json=customer, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    other = http.post("/api/ext-v1/customer/queryCustomer", json={"email": "legacy@example.com"}, headers=headers)
    assert other.status_code == 422 and "(customer/createOrUpdateCustomer)" in other.json()["error"]

"""Concurrency: many clients at once must not duplicate customers or idempotent tickets.

Requests really run at once: 50 threads with their own connections against the live server
(on PostgreSQL the server runs several transactions in parallel; on SQLite they are grouped).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.databases import count

URL = "/api/ext-v1/ticket/createTicket"


def _fire(base_url: str, requests: list[tuple[dict, dict]]) -> list[httpx.Response]:
    def send(item):
        headers, body = item
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post(URL, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_fifty_concurrent_tickets_for_one_new_email_make_one_customer(live_server, db, tenant):
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    variants = [email, email.upper(), f"  {email}  "]
    requests = [
        (tenant.headers, {"title": f"Ticket {i}", "customerEmail": variants[i % 3]}) for i in range(50)
    ]
    responses = _fire(live_server.url, requests)

    assert [r.status_code for r in responses] == [200] * 50, [r.text for r in responses if r.status_code != 200]
    customer_ids = {r.json()["customerId"] for r in responses}
    assert len(customer_ids) == 1
    assert sum(r.json()["customerCreated"] for r in responses) == 1
    assert count(db, "select count(*) from customers where organization_id = :o", o=tenant.id) == 1
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 50


def test_parallel_retries_with_one_idempotency_key_make_one_ticket(live_server, db, tenant):
    key = f"retry-{uuid.uuid4()}"
    body = {"title": "Printer on fire", "customerEmail": "fire@example.com", "priority": "urgent"}
    headers = {**tenant.headers, "Idempotency-Key": key}
    responses = _fire(live_server.url, [(headers, body)] * 20)

    # Each retry either waited for the first and got its answer, or was told to retry (409).
    assert {r.status_code for r in responses} <= {200, 409}
    ok = [r for r in responses if r.status_code == 200]
    assert ok, [r.text for r in responses]
    assert len({r.json()["ticketId"] for r in ok}) == 1
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in ok) == len(ok) - 1


def test_concurrent_tickets_of_two_tenants_stay_apart(live_server, db, tenant, other_tenant):
    email = "shared@example.com"
    requests = [((tenant if i % 2 else other_tenant).headers, {"title": f"T{i}", "customerEmail": email}) for i in range(40)]
    responses = _fire(live_server.url, requests)
    assert all(r.status_code == 200 for r in responses)
    for t in (tenant, other_tenant):
        assert count(db, "select count(*) from customers where organization_id = :o", o=t.id) == 1
        assert count(db, "select count(*) from tickets where organization_id = :o", o=t.id) == 20

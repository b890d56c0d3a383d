"""A database failure in the middle of a ticket's creation leaves nothing behind.

The failure is real: a trigger makes the database itself reject the insert of a message whose
content is a marker, after the customer and the ticket rows were written in the same
transaction. The client gets a 500 with a request id, the log has the cause, and no row of that
request remains: no customer, no ticket, no message. Requests running at the same time (grouped
into the same SQLite transaction) are not affected.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.databases import count

URL = "/api/ext-v1/ticket/createTicket"
MARKER = "boom-injected-failure"


@pytest.fixture
def failing_message_insert(db):
    if db.is_sqlite:
        create = [
            f"CREATE TRIGGER fail_marker BEFORE INSERT ON ticket_messages WHEN NEW.content = '{MARKER}' "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ]
        drop = ["DROP TRIGGER fail_marker"]
    else:
        create = [
            "CREATE FUNCTION fail_marker() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.content = '{MARKER}' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_marker BEFORE INSERT ON ticket_messages FOR EACH ROW EXECUTE FUNCTION fail_marker()",
        ]
        drop = ["DROP TRIGGER fail_marker ON ticket_messages", "DROP FUNCTION fail_marker()"]
    with db.engine.begin() as conn:
        for sql in create:
            conn.exec_driver_sql(sql)
    yield
    with db.engine.begin() as conn:
        for sql in drop:
            conn.exec_driver_sql(sql)


def _failing_body(email: str) -> dict:
    return {
        "title": "Will fail",
        "customerEmail": email,
        "messages": [{"role": "customer", "content": "first"}, {"role": "customer", "content": MARKER}],
    }


def test_failure_mid_transaction_leaves_no_rows(http, db, tenant, failing_message_insert, caplog):
    email = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
    with caplog.at_level(logging.ERROR, logger="telemetron"):
        response = http.post(URL, headers={**tenant.headers, "X-Request-ID": "req-atomic-1"}, json=_failing_body(email))

    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "code": "internal_error", "requestId": "req-atomic-1"}
    assert response.headers["X-Request-ID"] == "req-atomic-1"
    assert "injected failure" not in response.text and "Traceback" not in response.text
    assert any("req-atomic-1" in r.getMessage() and "injected failure" in (r.exc_text or "") for r in caplog.records)
    assert count(db, "select count(*) from customers where organization_id = :o", o=tenant.id) == 0
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 0
    assert count(db, "select count(*) from ticket_messages where organization_id = :o", o=tenant.id) == 0


def test_failure_does_not_affect_concurrent_requests(live_server, db, tenant, failing_message_insert):
    bodies = [_failing_body(f"ghost-{i}@example.com") if i % 5 == 0 else {"title": f"fine {i}", "customerEmail": f"fine-{i}@example.com", "messages": [{"role": "customer", "content": "hello"}]} for i in range(30)]

    def send(body):
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            return client.post(URL, headers=tenant.headers, json=body)

    with ThreadPoolExecutor(max_workers=30) as pool:
        responses = list(pool.map(send, bodies))

    failed = [i for i, r in enumerate(responses) if r.status_code == 500]
    assert failed == [i for i in range(30) if i % 5 == 0]
    assert all(r.status_code == 200 for i, r in enumerate(responses) if i % 5)
    assert count(db, "select count(*) from tickets where organization_id = :o", o=tenant.id) == 24
    assert count(db, "select count(*) from customers where organization_id = :o and email like 'ghost-%'", o=tenant.id) == 0
    assert count(db, "select count(*) from ticket_messages where organization_id = :o", o=tenant.id) == 24

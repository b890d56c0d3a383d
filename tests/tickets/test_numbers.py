"""Ticket numbers (the [#N] of emails, the web app's "#12"): 1, 2, 3 per organization, never shared,
also when many clients create at once (after an import: tests/backup/test_export_import.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from telemetron.db.engine import Database
from telemetron.db.scoped import Scoped
from telemetron.tickets import create
from telemetron.tickets.numbers import last_number
from telemetron.tickets.requests import parse_create_ticket
from tests.support.tenants import make_tenant

URL = "/api/ext-v1/ticket/createTicket"


def open_ticket(db: Database, org_id: str, title: str = "Charged twice") -> str:
    request = parse_create_ticket({"title": title, "customerEmail": "ann@example.com"})[0]
    return db.run_sync(lambda conn: create.create_ticket(Scoped(db, conn, org_id), request).id)


def numbers(db: Database, org_id: str) -> list[int]:
    with db.engine.connect() as conn:
        return [n for (n,) in conn.execute(
            text("select number from tickets where organization_id = :o order by created_at, number"), {"o": org_id})]


def test_each_organization_numbers_its_own_tickets_from_one(db):
    first, second = make_tenant(db), make_tenant(db)
    for org in (first, second, first, first, second):
        open_ticket(db, org.id)
    assert numbers(db, first.id) == [1, 2, 3]
    assert numbers(db, second.id) == [1, 2]
    with db.engine.connect() as conn:
        assert (last_number(conn, first.id), last_number(conn, second.id)) == (3, 2)


def test_tickets_created_at_once_never_share_a_number(live_server, db, tenant):
    def send(i: int) -> int:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            return client.post(URL, headers=tenant.headers,
                               json={"title": f"At once {i}", "customerEmail": f"c{i}@example.com"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        assert set(pool.map(send, range(120))) == {200}
    given = numbers(db, tenant.id)
    assert len(given) == 120 and len(set(given)) == 120
    assert min(given) == 1 and max(given) < 120 + 40  # gaps only from batches run again, if any

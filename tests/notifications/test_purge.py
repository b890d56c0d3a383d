"""The outbox does not grow forever: delivered notifications are purged after a while, failed ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from telemetron.db.engine import utcnow
from telemetron.db.tables import outbox, outbox_attempts
from telemetron.outbox.repository import purge_finished
from tests.support.databases import count
from tests.support.tenants import make_tenant


def _message(db, org_id: str, status: str, age: timedelta, attempts: int = 1) -> int:
    when = utcnow() - age

    def unit(conn):
        message_id = conn.execute(insert(outbox).values(
            organization_id=org_id, channel="slack", event="ticket.created", payload={}, status=status,
            attempts=attempts, next_attempt_at=when, created_at=when,
            delivered_at=when if status == "delivered" else None)).inserted_primary_key[0]
        for _ in range(attempts):
            conn.execute(insert(outbox_attempts).values(message_id=message_id, worker="w", started_at=when,
                                                        duration_ms=1.0, outcome="delivered"))
        return message_id

    return db.run_sync(unit)


def test_old_delivered_messages_go_with_their_attempts_and_the_rest_stays(db):
    org = make_tenant(db).id
    old = timedelta(days=8)
    gone = [_message(db, org, "delivered", old, attempts=2), _message(db, org, "fanned_out", old, attempts=0)]
    kept = [_message(db, org, "delivered", timedelta(days=1)), _message(db, org, "failed", old),
            _message(db, org, "pending", old)]
    cutoff = utcnow() - timedelta(days=7)
    removed = 0
    while (chunk := db.run_sync(purge_finished, older_than=cutoff, limit=1)) > 0:
        removed += chunk
    assert removed >= 2  # (other tests' old rows, if any, may go too)
    left = {m for m in gone + kept
            if count(db, "select count(*) from outbox where id = :m", m=m)}
    assert left == set(kept)
    assert count(db, "select count(*) from outbox_attempts where message_id in (:a, :b)", a=gone[0], b=gone[1]) == 0
    assert count(db, "select count(*) from outbox_attempts where message_id = :m", m=kept[1]) == 1

"""Units of work in the event loop (db/engine.py): batches, savepoints, lock waits, lost connections."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import text

from telemetron.db.engine import Database


@pytest.fixture
def fresh_db(database_url):
    """A Database of its own: its loop connection is not shared with other tests."""
    database = Database(database_url, pool_size=2)
    yield database
    database.dispose()


@pytest.fixture
def probe(fresh_db):
    name = f"engine_probe_{uuid.uuid4().hex[:8]}"
    fresh_db.run_sync(lambda conn: conn.execute(text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v VARCHAR(32))")))
    yield name
    fresh_db.run_sync(lambda conn: conn.execute(text(f"DROP TABLE {name}")))


def _rows(db: Database, table: str) -> dict[int, str]:
    return dict(db.run_sync(lambda conn: conn.execute(text(f"SELECT id, v FROM {table}")).all()))


def test_units_of_one_batch_commit_together_and_a_failing_one_leaves_no_trace(fresh_db, probe):
    def insert(conn, row_id: int, fail: bool = False):
        conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (:id, 'x')"), {"id": row_id})
        if fail:
            raise ValueError(f"unit {row_id} changed its mind")
        return row_id

    async def main():
        return await asyncio.gather(
            *(fresh_db.run(insert, i, fail=(i % 3 == 0)) for i in range(1, 10)), return_exceptions=True
        )

    results = asyncio.run(main())
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        1, 2, "unit 3 changed its mind", 4, 5, "unit 6 changed its mind", 7, 8, "unit 9 changed its mind"
    ]
    assert sorted(_rows(fresh_db, probe)) == [1, 2, 4, 5, 7, 8]


def test_a_unit_blocked_by_another_transactions_lock_gives_way_without_stalling_the_loop(fresh_db, probe):
    if fresh_db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there is no row lock to wait for")
    fresh_db.run_sync(lambda conn: conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (1, 'old'), (2, 'old')")))

    def update(conn, row_id: int, value: str):
        conn.execute(text(f"UPDATE {probe} SET v = :v WHERE id = :id"), {"v": value, "id": row_id})
        return value

    holder = fresh_db.engine.connect()
    holder.begin()
    holder.execute(text(f"UPDATE {probe} SET v = 'held' WHERE id = 1"))  # row 1 is locked until commit

    async def main():
        gaps = []

        async def ticker():
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        blocked = asyncio.create_task(fresh_db.run(update, 1, "from the loop"))
        await asyncio.sleep(0.05)
        # Other units go on while the blocked one waits for the lock.
        assert await asyncio.wait_for(fresh_db.run(update, 2, "meanwhile"), timeout=5) == "meanwhile"
        await asyncio.sleep(0.5)
        assert not blocked.done()
        holder.commit()
        assert await asyncio.wait_for(blocked, timeout=10) == "from the loop"
        ticking.cancel()
        return max(gaps)

    try:
        longest_stall = asyncio.run(main())
    finally:
        holder.close()
    assert _rows(fresh_db, probe) == {1: "from the loop", 2: "meanwhile"}
    # The loop waited at most about the lock timeout, once, not for the other transaction.
    assert longest_stall < 1.5


def test_the_loop_connection_comes_back_after_the_database_dropped_it(fresh_db, probe):
    if fresh_db.is_sqlite:
        pytest.skip("a SQLite file has no server to drop the connection")

    def backend_pid(conn):
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def insert(conn, row_id: int):
        conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (:id, 'x')"), {"id": row_id})
        return backend_pid(conn)

    async def main():
        first = await fresh_db.run(backend_pid)
        fresh_db.run_sync(lambda conn: conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}))
        time.sleep(0.2)
        second = await fresh_db.run(insert, 1)  # no error: the unit runs again on a new connection
        return first, second

    first, second = asyncio.run(main())
    assert first != second
    assert _rows(fresh_db, probe) == {1: "x"}


def test_a_reader_neither_waits_for_nor_blocks_a_writer(fresh_db, probe):
    """A model load or a CLI listing (``read_sync``) while another connection holds the write lock."""
    fresh_db.run_sync(lambda conn: conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (1, 'committed')")))
    writer = fresh_db.engine.connect()
    writer.begin()
    writer.execute(text(f"UPDATE {probe} SET v = 'uncommitted' WHERE id = 1"))  # holds SQLite's write lock
    try:
        started = time.monotonic()
        seen = fresh_db.read_sync(lambda conn: conn.execute(text(f"SELECT v FROM {probe} WHERE id = 1")).scalar_one())
        assert seen == "committed"
        assert time.monotonic() - started < 2  # not the 10 s busy timeout
    finally:
        writer.commit()
        writer.close()
    assert _rows(fresh_db, probe) == {1: "uncommitted"}


def test_units_that_fail_before_writing_or_on_a_database_error_leave_their_batch_intact(fresh_db, probe):
    """Without savepoints first (the optimistic batch), then with them when a unit wrote or broke the transaction."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from telemetron.db.prepared import Prepared

    table = Table(probe, MetaData(), Column("id", Integer, primary_key=True), Column("v", String(32)))
    prepared_insert = Prepared(insert(table))

    def unit(conn, row_id: int, how: str):
        conn.execute(text(f"SELECT count(*) FROM {probe}")).scalar()
        if how == "refuse":  # like a bad request: fails having only read
            raise ValueError(f"unit {row_id} refused")
        if how == "db error":  # a failed statement (PostgreSQL aborts the transaction)
            conn.execute(text("SELECT 1 / (:zero)"), {"zero": 0}).scalar()
        if how == "prepared then fail":  # wrote on the hot path, then failed
            prepared_insert.execute(conn, {"id": row_id, "v": "x"})
            raise ValueError(f"unit {row_id} changed its mind")
        conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (:id, 'x')"), {"id": row_id})
        return row_id

    async def main(hows, start=1):
        return await asyncio.gather(*(fresh_db.run(unit, i, how) for i, how in enumerate(hows, start)),
                                    return_exceptions=True)

    first = asyncio.run(main(["ok", "refuse", "ok", "refuse", "ok"]))
    assert [r if isinstance(r, int) else str(r) for r in first] == [1, "unit 2 refused", 3, "unit 4 refused", 5]
    assert sorted(_rows(fresh_db, probe)) == [1, 3, 5]

    second = asyncio.run(main(["ok"] * 5 + ["db error", "ok", "prepared then fail", "ok"], start=11))
    # SQLite divides by zero into NULL; PostgreSQL refuses, and its transaction is aborted.
    db_error = "int" if fresh_db.is_sqlite else "DataError"
    assert [type(r).__name__ for r in second] == ["int"] * 5 + [db_error, "int", "ValueError", "int"]
    committed = set(_rows(fresh_db, probe)) - {1, 3, 5}
    assert committed == {11, 12, 13, 14, 15, 17, 19} | ({16} if fresh_db.is_sqlite else set())


def test_readers_run_below_the_event_loops_priority_and_answer_beside_it(fresh_db, probe):
    """A long read (a search) runs in a reader thread at a lower CPU priority on SQLite, so that on
    busy cores the loop's thread, which answers the short requests, gets a core first."""
    import os
    import sys
    import threading

    def priority(_conn=None) -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    async def scenario():
        readers = await asyncio.gather(*(fresh_db.read(priority) for _ in range(4)))
        loop_thread = priority()
        written = await fresh_db.run(lambda conn: conn.execute(text(f"INSERT INTO {probe} (id, v) VALUES (1, 'x')")))
        return readers, loop_thread, written

    readers, loop_thread, _ = asyncio.run(scenario())
    if fresh_db.is_sqlite and sys.platform == "linux":
        assert all(p == min(loop_thread + 10, 19) for p in readers), (readers, loop_thread)
    else:  # PostgreSQL reads in its own processes: its reader threads only wait
        assert all(p == loop_thread for p in readers)
    assert priority() == loop_thread  # the process's other threads keep theirs
    assert _rows(fresh_db, probe) == {1: "x"}


def test_a_lock_timeout_gives_way_whether_sqlalchemy_wrapped_it_or_not():
    # A prepared statement (db/prepared.py) raises the driver's error bare: the batch must still
    # hand the unit to a thread of its own instead of answering 500.
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from telemetron.db.engine import _gave_way

    bare = psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
    assert _gave_way(bare)
    assert _gave_way(OperationalError("UPDATE organizations ...", {}, bare))
    assert not _gave_way(psycopg.errors.UniqueViolation("duplicate key"))
    assert not _gave_way(ValueError("not a database error"))

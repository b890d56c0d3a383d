"""Writes held for the COMMIT (SQLite's search documents): run at the commit, never after a rollback."""

import asyncio
import threading

from sqlalchemy import text

from telemetron.db import deferred
from telemetron.db.engine import Database


class _Insert:
    def __init__(self, value: str) -> None:
        self.value = value

    def execute_many(self, conn, rows):
        for _ in rows:
            conn.exec_driver_sql("INSERT INTO held (value) VALUES (?)", (self.value,))


def _values(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [v for (v,) in conn.execute(text("SELECT value FROM held ORDER BY rowid"))]


def _database(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'held.db'}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE held (value TEXT)")
    return db


def test_held_writes_run_at_the_commit_and_die_with_a_rollback(tmp_path):
    db = _database(tmp_path)
    with db.engine.connect() as conn:
        with conn.begin():
            deferred.defer(conn, _Insert("kept"), {})
            assert conn.execute(text("SELECT count(*) FROM held")).scalar() == 0  # held, not yet written
        with conn.begin() as transaction:
            deferred.defer(conn, _Insert("rolled back"), {})
            transaction.rollback()
        with conn.begin():
            pass  # nothing left over from the rolled-back transaction
    assert _values(db) == ["kept"]


def test_a_savepoint_rolled_back_drops_what_was_held_inside_it(tmp_path):
    db = _database(tmp_path)
    with db.engine.connect() as conn, conn.begin():
        deferred.defer(conn, _Insert("before"), {})
        dry_run = conn.begin_nested()
        deferred.defer(conn, _Insert("dry run"), {})
        inner = conn.begin_nested()
        deferred.defer(conn, _Insert("inner"), {})
        inner.commit()
        dry_run.rollback()
        kept = conn.begin_nested()
        deferred.defer(conn, _Insert("after"), {})
        kept.commit()
    assert _values(db) == ["before", "after"]



class _Recorded(_Insert):
    """Records the thread its rows were written in; ``fail`` raises instead of writing."""

    def __init__(self, value: str, threads: list, fail: bool = False) -> None:
        super().__init__(value)
        self.threads = threads
        self.fail = fail

    def execute_many(self, conn, rows):
        self.threads.append(threading.current_thread())
        if self.fail:
            raise RuntimeError("the held write failed")
        super().execute_many(conn, rows)


def _batch_of(db: Database, statement: _Recorded, size: int) -> list:
    """``size`` units in one batch of the group committer, each inserting a row and holding a write."""
    def unit(conn, n: int) -> int:
        conn.exec_driver_sql("INSERT INTO held (value) VALUES (?)", (f"unit {n}",))
        deferred.defer(conn, statement, {})
        return n

    async def main():
        statement.threads.append(threading.current_thread())  # the event loop's
        return await asyncio.gather(*(db.run(unit, n) for n in range(size)), return_exceptions=True)

    return asyncio.run(main())


def test_a_batchs_held_writes_run_in_the_loops_thread_not_the_commit_thread(tmp_path):
    # In the commit thread, each held row would wait for the GIL the busy event loop holds.
    db = _database(tmp_path)
    threads: list = []
    assert _batch_of(db, _Recorded("document", threads), 8) == list(range(8))
    loop_thread, *writers = threads
    assert writers and all(writer is loop_thread for writer in writers)
    assert _values(db).count("document") == 8
    db.dispose()


def test_a_held_write_that_fails_leaves_nothing_of_its_batch(tmp_path):
    db = _database(tmp_path)
    results = _batch_of(db, _Recorded("document", [], fail=True), 8)
    assert [str(r) for r in results] == ["the held write failed"] * 8
    assert _values(db) == []
    db.dispose()


def test_a_lone_unit_that_fails_keeps_its_own_error_and_its_held_writes_never_run(tmp_path):
    db = _database(tmp_path)
    threads: list = []

    def unit(conn) -> None:
        deferred.defer(conn, _Recorded("document", threads, fail=True), {})
        raise ValueError("the unit's own error")

    async def main():
        return await asyncio.gather(db.run(unit), return_exceptions=True)

    assert [str(r) for r in asyncio.run(main())] == ["the unit's own error"]
    assert threads == [] and _values(db) == []
    db.dispose()

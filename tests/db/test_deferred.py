"""Writes held for the COMMIT (SQLite's search documents): run at the commit, never after a rollback."""

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


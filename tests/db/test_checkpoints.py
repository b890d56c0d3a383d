"""SQLite's WAL is checkpointed by the Database's own thread, never by a request's commit."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from sqlalchemy import text

from telemetron.db.engine import Database


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_the_thread_copies_the_log_before_a_commit_has_to(tmp_path):
    """A commit that takes the log past 1,000 pages checkpoints it itself, in the event loop's
    thread: the thread copies the log first, so at a steady pace the log never gets there."""
    path = tmp_path / "steady.db"
    db = Database(f"sqlite:///{path}", pool_size=2)
    try:
        db.run_sync(lambda conn: conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")))
        largest_log = 0
        for _ in range(60):  # 200 KB a commit, ~30 commits a second: 12 MB in all
            db.run_sync(lambda conn: conn.execute(text("INSERT INTO blobs (b) VALUES (:b)"), [{"b": os.urandom(4000)}] * 50))
            largest_log = max(largest_log, os.path.getsize(f"{path}-wal"))
            time.sleep(0.03)
        assert largest_log < 2_500_000  # a commit's own checkpoint would let it reach ~4 MB
        assert _wait_for(lambda: path.stat().st_size > 12_000_000), "the rows never reached the database file"
        assert db._checkpointer.checkpoints > 0
    finally:
        db.dispose()


def test_dispose_stops_the_thread_and_a_clean_shutdown_leaves_the_log_copied(tmp_path):
    path = tmp_path / "short.db"
    db = Database(f"sqlite:///{path}", pool_size=2)
    db.run_sync(lambda conn: conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT)")))
    db.run_sync(lambda conn: conn.execute(text("INSERT INTO notes (v) VALUES ('kept')")))
    db.dispose()
    assert not [t for t in threading.enumerate() if t.name == "sqlite-checkpoints" and t is db._checkpointer._thread]
    # Everything the log held is in the database file: read it without the log.
    if os.path.exists(f"{path}-wal"):
        os.remove(f"{path}-wal")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT v FROM notes").fetchall() == [("kept",)]
    finally:
        conn.close()


def test_the_thread_never_creates_a_database_that_does_not_exist(tmp_path):
    path = tmp_path / "not-yet.db"
    db = Database(f"sqlite:///{path}", pool_size=1)
    try:
        time.sleep(0.35)
        assert not path.exists()
    finally:
        db.dispose()

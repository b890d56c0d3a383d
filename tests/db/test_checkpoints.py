"""SQLite's WAL is checkpointed by the Database's own thread, never by a request's commit."""

from __future__ import annotations

import os
import sqlite3
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
    """A commit that takes the log past 1,000 pages (~4 MB) checkpoints it itself, in the event
    loop's thread: the thread copies the log first, so at a steady pace it never gets there."""
    path = tmp_path / "steady.db"
    db = Database(f"sqlite:///{path}", pool_size=2)
    try:
        db.run_sync(lambda conn: conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")))
        largest_log = 0
        for _ in range(40):  # 200 KB a commit, ~10 commits a second: 8 MB in all
            db.run_sync(lambda conn: conn.execute(text("INSERT INTO blobs (b) VALUES (:b)"), [{"b": os.urandom(4000)}] * 50))
            largest_log = max(largest_log, os.path.getsize(f"{path}-wal"))
            time.sleep(0.1)
        # Under the 1,000 pages (of 4 KiB) at which a commit checkpoints the log itself, even when
        # the thread is late by several intervals on a busy host; without the thread it goes past.
        assert largest_log < 1000 * 4096
        assert _wait_for(lambda: path.stat().st_size > 8_000_000), "the rows never reached the database file"
        assert db._checkpointer.checkpoints >= 5
    finally:
        db.dispose()


def test_dispose_stops_the_thread_after_copying_the_whole_log(tmp_path):
    path = tmp_path / "short.db"
    db = Database(f"sqlite:///{path}", pool_size=2)
    db.run_sync(lambda conn: conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT)")))
    db.run_sync(lambda conn: conn.execute(text("INSERT INTO notes (v) VALUES ('kept')")))
    # Another connection stays open, so that closing ours does not checkpoint by itself.
    other = sqlite3.connect(path)
    try:
        other.execute("SELECT count(*) FROM notes").fetchall()
        db.dispose()
        assert not db._checkpointer._thread.is_alive()
        # The database file alone, without its log, holds the row.
        copy = tmp_path / "copy.db"
        copy.write_bytes(path.read_bytes())
        alone = sqlite3.connect(copy)
        try:
            assert alone.execute("SELECT v FROM notes").fetchall() == [("kept",)]
        finally:
            alone.close()
    finally:
        other.close()


def test_the_thread_never_creates_a_database_that_does_not_exist(tmp_path):
    path = tmp_path / "not-yet.db"
    db = Database(f"sqlite:///{path}", pool_size=1)
    try:
        time.sleep(0.35)
        assert not path.exists()
    finally:
        db.dispose()

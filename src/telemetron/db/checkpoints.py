"""SQLite's WAL checkpoints, moved off the request path into a thread of their own.

In WAL mode every commit appends pages to the ``-wal`` file, and the commit that takes the log
past 1,000 pages also copies them back into the database file and fsyncs it (an automatic
checkpoint). That commit runs in the event loop's thread at low load (``engine.py``), so the
checkpoint held up every request behind it: at a fixed 200 requests/s it was most of the p99
(5.4-6.9 ms without this thread, 3.9-4.7 ms with it, bench/README.md).

This thread, on its own connection, runs a PASSIVE checkpoint ten times a second whenever another
connection has committed since the last one. PASSIVE never waits for readers or writers: it
copies what it can while requests go on (the sqlite3 module releases the GIL while SQLite works),
and once the whole log is copied the next commit starts it again from its beginning. At a steady
pace the log so never reaches the 1,000 pages at which a commit would checkpoint itself.

Automatic checkpoints stay on, as the backstop: under a saturating stream of writes a PASSIVE
checkpoint never finds a moment when the log is copied whole, the log is never started again,
and only a checkpoint by the writer itself (between two of its commits) bounds it. Turning them
off let the log grow past 120 MB in a 10 s burst; with both, it stays under 5 MB. By then most
pages are already copied, so the writer's checkpoint is short.

Durability does not depend on this thread: a commit is durable once its WAL frames are synced.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from urllib.parse import quote

logger = logging.getLogger(__name__)

# How often the thread looks for new commits: at 200 tickets/s an interval's log is far below
# the 1,000 pages at which a commit checkpoints by itself.
INTERVAL_SECONDS = 0.1


class Checkpointer:
    """A daemon thread that checkpoints one SQLite database's WAL while commits go on."""

    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self.checkpoints = 0  # checkpoints that copied something: for tests and curiosity
        self._logged = self._copied = 0
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop without waiting (the Database was collected without ``dispose``)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop after one last checkpoint, so that a clean shutdown leaves a short log."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._checkpoint_until_stopped()
                failures = 0
            except Exception as exc:  # never take the server down; try again on a new connection
                failures += 1
                if failures == 1:
                    logger.exception("WAL checkpoints failed for %s; retrying with backoff", self._path)
                else:
                    logger.debug("WAL checkpoints still failing: %s", exc)
                self._stop.wait(min(60.0, 2.0 ** (failures - 1)))

    def _connect(self) -> sqlite3.Connection | None:
        try:  # mode=rw: never create the file; a database not made yet has nothing to checkpoint
            return sqlite3.connect(f"file:{quote(self._path)}?mode=rw", uri=True, isolation_level=None)
        except sqlite3.OperationalError:
            return None

    def _checkpoint_until_stopped(self) -> None:
        conn = self._connect()
        if conn is None:
            stopped = self._stop.wait(self._interval)
            # Made meanwhile and stopped already: its last checkpoint is still due (below).
            conn = self._connect() if stopped else None
            if conn is None:
                return
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            seen = None
            while True:
                stopping = self._stop.wait(self._interval)
                # data_version changes when another connection has committed: an idle server
                # does nothing more than this read.
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen or stopping:
                    seen = version
                    self._checkpoint(conn)
                if stopping:
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            _busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:  # another process's checkpoint holds the lock
            logger.debug("WAL checkpoint skipped: %s", exc)
            return
        # ``copied`` counts every frame of the current log copied so far, by any checkpoint; the
        # log started over when it is shorter than last time.
        if copied > 0 and (copied > self._copied or logged < self._logged):
            self.checkpoints += 1
        self._logged, self._copied = logged, copied

"""The database: one engine per process, and units of work that each run in one transaction.

A unit of work is a plain function ``fn(conn, ...)`` that runs inside one transaction: it
commits when the function returns and rolls back when it raises, so nothing is ever left
half-written.

How ``Database.run`` executes units of work was decided by measurement (bench/README.md):

- SQLite: in the event loop's own thread, with group commit. Handing each request to a worker
  thread cost ~170 µs of GIL hand-offs and wake-ups, more than the unit of work itself, and
  SQLite admits one writer at a time anyway. Units that arrive in the same loop iteration run in
  one transaction, each in its own SAVEPOINT, and share one durable commit (an fsync, ~0.2 ms
  here). A unit that fails rolls back to its savepoint and leaves its neighbours alone; no caller
  hears "committed" before the commit has happened.
- PostgreSQL: in a pool of threads, one transaction each, so that many commits are in flight
  at once (PostgreSQL groups their WAL flushes itself) while the loop serves other requests.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that one that reads and then writes never
fails half-way on a lock upgrade when another process (the CLI, a worker) writes too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Callable, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

T = TypeVar("T")
logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database in (None, "", ":memory:"):
                raise ValueError("SQLite needs a file (sqlite:///path/to/telemetron.db), not :memory:")
            self.engine = _sqlite_engine(self.url)
            self._executor: ThreadPoolExecutor | None = None
        else:
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=4, pool_pre_ping=True, pool_recycle=1800,
                json_serializer=_json_dumps,
            )
            self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="db")
        self._committer: GroupCommitter | None = None

    def insert(self, table):
        """An INSERT that supports ``on_conflict_do_nothing`` on the current database."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one transaction, in the calling thread."""
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future:
        """PostgreSQL: queue ``fn(conn, *args, **kwargs)`` for a pool thread; the future resolves after commit."""
        return self._executor.submit(functools.partial(self.run_sync, fn, *args, **kwargs))

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one transaction (see the module's docstring for where)."""
        if self.is_sqlite:
            return await self._group_committer().run(fn, args, kwargs)
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def _group_committer(self) -> GroupCommitter:
        if self._committer is None:
            self._committer = GroupCommitter(self.engine)
        return self._committer

    def dispose(self) -> None:
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.engine.dispose()


# Batches this small commit in the loop's thread: at low load the hand-off to the commit thread
# costs more latency than the fsync it overlaps (p99 at 200 requests/s: 7.7 ms -> 3.9 ms here).
_INLINE_COMMIT_MAX = 2


class GroupCommitter:
    """Runs SQLite units of work in the event loop's thread, a batch per transaction.

    The units' statements run in the loop's thread (no hand-off per request); the commit, an
    fsync that releases the GIL, runs in a helper thread, so the loop goes on reading and
    validating the next requests meanwhile, and those form the next batch. Only ``_drain``
    touches the connection, one batch at a time. Must be used from one event loop (the
    server's); sync callers use ``Database.run_sync``.
    """

    MAX_BATCH = 256

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.connect()
        self._pending: list[tuple[asyncio.Future, Callable, tuple, dict]] = []
        self._draining = False
        self._commit_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")

    async def run(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((future, fn, args, kwargs))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
                transaction = self._conn.begin()
                outcomes = run_units(self._conn, batch)
                try:
                    if len(batch) == 1 and outcomes[0][2] is not None:
                        transaction.rollback()  # a lone unit that failed: no savepoint to undo
                    elif len(batch) <= _INLINE_COMMIT_MAX:
                        transaction.commit()
                    else:
                        await loop.run_in_executor(self._commit_thread, transaction.commit)
                except Exception as exc:
                    logger.error("a batch of %d units of work was rolled back", len(batch), exc_info=exc)
                    if transaction.is_active:
                        transaction.rollback()
                    outcomes = [(future, None, exc) for future, *_ in batch]
                for future, outcome, error in outcomes:
                    if future.cancelled():
                        continue
                    if error is None:
                        future.set_result(outcome)
                    else:
                        future.set_exception(error)
        finally:
            self._draining = False

    def close(self) -> None:
        self._commit_thread.shutdown(wait=True)
        self._conn.close()


def run_units(conn: Connection, batch: list) -> list[tuple[Any, Any, BaseException | None]]:
    """Run ``(token, fn, args, kwargs)`` units inside the open transaction; return ``(token, result, error)``.

    With more than one unit, each runs in a SAVEPOINT so that one unit's failure undoes only its
    own writes. A lone unit runs bare: if it fails, the caller rolls the transaction back.
    """
    if len(batch) == 1:
        token, fn, args, kwargs = batch[0]
        try:
            return [(token, fn(conn, *args, **kwargs), None)]
        except Exception as exc:
            return [(token, None, exc)]
    outcomes: list[tuple[Any, Any, BaseException | None]] = []
    # Savepoints straight on the driver: SQLAlchemy's begin_nested() costs ~50 µs a unit.
    driver = conn.connection.driver_connection
    for token, fn, args, kwargs in batch:
        driver.execute("SAVEPOINT unit")
        try:
            result = fn(conn, *args, **kwargs)
        except Exception as exc:
            driver.execute("ROLLBACK TO SAVEPOINT unit")
            driver.execute("RELEASE SAVEPOINT unit")
            outcomes.append((token, None, exc))
        else:
            driver.execute("RELEASE SAVEPOINT unit")
            outcomes.append((token, result, None))
    return outcomes


def _json_dumps(value: Any) -> str:
    """JSON columns are written with orjson: several times faster than json.dumps on the hot path."""
    return orjson.dumps(value).decode()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=4, max_overflow=4, json_serializer=_json_dumps
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (the sqlite3
        # module's implicit transactions break SAVEPOINT and BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed ticket survives a power cut, not only a crash of the process.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:  # pragma: no cover - exercised by every test
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine

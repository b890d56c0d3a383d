"""The database: one engine per process, and units of work that each run in one transaction.

A unit of work is a plain function ``fn(conn, ...)`` that runs inside one transaction: it
commits when the function returns and rolls back when it raises, so nothing is ever left
half-written.

How ``Database.run`` executes units of work was decided by measurement (bench/README.md): with
group commit. Units that arrive while the previous batch runs form the next batch: one
transaction, each unit in its own SAVEPOINT, one durable commit. A unit that fails rolls back to
its savepoint and leaves its neighbours alone; no caller hears "committed" before the commit.

- SQLite: the units run in the event loop's own thread (statements take microseconds, and
  SQLite admits one writer at a time anyway); only the commit's fsync goes to a helper thread.
- PostgreSQL: each statement is a network round trip, so the batch runs in one helper thread
  while the loop goes on with HTTP: a hand-off per batch costs far less GIL traffic than a thread
  per request, and SQLAlchemy's asyncio mode costs a greenlet switch and a future per statement
  (both measured: bench/README.md). A unit must not
  hold up the batches behind it waiting for another transaction's lock (another process's
  batch, a CLI command): the batch connection has a short ``lock_timeout``, and a unit that
  hits it runs again alone in a pool thread. The same pool runs ``run_in_thread`` (long
  maintenance work) and the CLI's units.

Reads that may take long (a search, a list filtered over a million tickets, the retrainer's
check) go through ``Database.read`` instead: a reader thread with its own connection (on SQLite a
deferred transaction on a WAL snapshot), so no request waits in the event loop behind them.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that one that reads and then writes never
fails half-way on a lock upgrade when another process (the CLI, a worker) writes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection

from telemetron.clock import utcnow  # noqa: F401  (re-exported for code that imports it from here)
from telemetron.db import deferred
from telemetron.db.checkpoints import Checkpointer

T = TypeVar("T")
logger = logging.getLogger(__name__)


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
            self._checkpointer: Checkpointer | None = Checkpointer(parsed.database)
            weakref.finalize(self, self._checkpointer.request_stop)
        else:
            # The pool serves the CLI, ``run_in_thread`` and the units that gave way to a lock.
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=4, pool_pre_ping=True, pool_recycle=1800,
                json_serializer=_json_dumps,
            )
            self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="db")
            self._checkpointer = None
        self._committer: GroupCommitter | None = None
        self._readers: ThreadPoolExecutor | None = None
        event.listen(self.engine, "before_cursor_execute", _note_write)

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one transaction, in the calling thread."""
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    def read_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``run_sync`` for a unit that only reads (a model load, a listing): on SQLite it neither
        takes nor waits for the write lock, so it never holds up the server's writes, nor they it."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                return fn(conn, *args, **kwargs)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one transaction, batched with the units that arrive
        meanwhile: in the loop's thread on SQLite, in a lane's thread on PostgreSQL (module docstring)."""
        if self._committer is None:
            self._committer = GroupCommitter(self)
        return await self._committer.run(fn, args, kwargs)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, ...)``, a unit that only reads and may take long (a search, a list of a
        million tickets), on its own connection in a reader thread: never in the event loop's
        thread, so on SQLite no other request waits behind it (the driver lets go of the GIL
        while SQLite works), and never in a batch, so no unit waits for its batch's commit."""
        if self._readers is None:
            self._readers = self._executor or ThreadPoolExecutor(
                max_workers=READERS, thread_name_prefix="db-read", initializer=yield_cpu_to_the_loop)
        return await asyncio.wrap_future(self._readers.submit(functools.partial(self.read_sync, fn, *args, **kwargs)))

    async def run_in_thread(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Like ``run``, for work that may take long (maintenance): PostgreSQL runs it in a pool thread,
        off the loop. SQLite keeps it in the loop: a second writer would only wait for the first."""
        if self.is_sqlite:
            return await self.run(fn, *args, **kwargs)
        return await asyncio.wrap_future(self.pool.submit(functools.partial(self.run_sync, fn, *args, **kwargs)))

    @property
    def pool(self) -> ThreadPoolExecutor:
        """PostgreSQL's thread pool; SQLite has none (its writes stay in the loop's thread)."""
        if self._executor is None:
            raise RuntimeError("SQLite runs its units of work in the event loop's thread, not in a pool")
        return self._executor

    def dispose(self) -> None:
        if self._committer is not None:
            self._committer.close()
            self._committer = None
        if self._readers is not None and self._readers is not self._executor:
            self._readers.shutdown(wait=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


# Reader threads on SQLite (``Database.read``): each has its own connection from the pool (8 at most).
READERS = 4
# How much lower than the event loop's thread a SQLite reader thread runs (Linux ``nice``).
READER_NICENESS = 10


def yield_cpu_to_the_loop() -> None:
    """Lower the calling reader thread's CPU priority, so that when searches keep every core busy
    the event loop's thread, which answers the short requests, still gets one as soon as it has
    work. SQLite reads in the reader's own thread (unlike PostgreSQL's server process), and the
    scheduler otherwise shares the cores evenly. Linux sets niceness per thread (elsewhere it
    would lower the whole process: left alone)."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + READER_NICENESS, 19))

# Batches this small commit in the loop's thread: at low load the hand-off to the commit thread
# costs more latency than the fsync it overlaps (p99 at 200 requests/s: bench/README.md).
_INLINE_COMMIT_MAX = 2
# How long a unit in a batch may wait for another transaction's lock before it gives way and
# runs alone in a pool thread (PostgreSQL): the batch behind it waits meanwhile. Longer than a
# normal commit, far shorter than a stall.
BATCH_LOCK_TIMEOUT_MS = 100
_LOCK_NOT_AVAILABLE = "55P03"


# PostgreSQL batches in flight at once, each on its own connection and thread: while one waits
# for the server, another runs its Python (measured in bench/README.md).
POSTGRES_LANES = 3


class _Lane:
    """A connection, and the thread that commits on it (SQLite) or runs whole batches (PostgreSQL)."""

    def __init__(self, db: Database, number: int) -> None:
        self._db = db
        self._conn: Connection | None = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-batch-{number}")

    def connection(self) -> Connection:
        """The lane's connection, opened again after a lost one (a restarted database)."""
        if self._conn is not None and (self._conn.invalidated or self._conn.closed):
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = self._db.engine.connect()
            if not self._db.is_sqlite:
                self._conn.exec_driver_sql(f"SET lock_timeout = {BATCH_LOCK_TIMEOUT_MS}")
                self._conn.commit()
        return self._conn

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()


class GroupCommitter:
    """Runs units of work a batch per transaction, the batch formed by what arrived meanwhile.

    SQLite: the units' statements run in the loop's thread (no hand-off per request); the
    commit, which waits for the disk and releases the GIL, runs in a helper thread, so the loop
    goes on reading and validating the next requests meanwhile, and those form the next batch.
    PostgreSQL: each batch, commit included, runs in a lane's thread: one hand-off per batch
    instead of one per request, and the loop parses the next requests while the batch waits for
    the server's answers (a round trip per statement). ``POSTGRES_LANES`` batches run at once.
    Must be used from one event loop (the server's); sync callers use ``Database.run_sync``.
    """

    MAX_BATCH = 256

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lanes = [_Lane(db, n) for n in range(1 if db.is_sqlite else POSTGRES_LANES)]
        self._free = list(self._lanes)
        self._lane_freed: asyncio.Future | None = None
        self._pending: list[tuple[asyncio.Future, Callable, tuple, dict]] = []
        self._draining = False

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
                if not self._free:  # every lane busy: what arrives meanwhile joins the next batch
                    self._lane_freed = loop.create_future()
                    await self._lane_freed
                    continue
                lane = self._free.pop()
                batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
                if self._db.is_sqlite:
                    await self._run_batch(loop, lane, batch)
                else:
                    loop.create_task(self._run_batch(loop, lane, batch))
        finally:
            self._draining = False

    async def _run_batch(self, loop, lane: _Lane, batch: list) -> None:
        try:
            if self._db.is_sqlite:
                outcomes = await self._run_in_loop(loop, lane, batch)
            else:
                outcomes = await loop.run_in_executor(lane.thread, self._run_in_thread, lane, batch)
        except Exception as exc:  # the batch as a whole: nothing of it committed
            logger.error("a batch of %d units of work was rolled back", len(batch), exc_info=exc)
            outcomes = [(future, None, exc) for future, *_ in batch]
        finally:
            self._free.append(lane)
            if self._lane_freed is not None and not self._lane_freed.done():
                self._lane_freed.set_result(None)
        for future, outcome, error in outcomes:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(outcome)
            elif _gave_way(error):
                # Waited too long for another transaction's lock: run it alone, in a pool thread,
                # where waiting holds up nobody else.
                _, fn, args, kwargs = next(unit for unit in batch if unit[0] is future)
                work = self._db.pool.submit(functools.partial(self._db.run_sync, fn, *args, **kwargs))
                asyncio.wrap_future(work).add_done_callback(functools.partial(_settle, future))
            else:
                future.set_exception(error)

    async def _run_in_loop(self, loop, lane: _Lane, batch: list) -> list:
        transaction, outcomes = self._run_units(lane, batch)
        if _commits(outcomes):
            _flush_held(transaction)
        if len(batch) <= _INLINE_COMMIT_MAX:
            self._finish(transaction, outcomes)
        else:
            await loop.run_in_executor(lane.thread, self._finish, transaction, outcomes)
        return outcomes

    def _run_in_thread(self, lane: _Lane, batch: list) -> list:
        transaction, outcomes = self._run_units(lane, batch)
        self._finish(transaction, outcomes)
        return outcomes

    def _run_units(self, lane: _Lane, batch: list):
        """The batch's units in a new transaction, run again once on a new connection if the
        connection was lost before COMMIT (a restarted database): then nothing of it happened."""
        for attempt in (1, 2):
            conn = lane.connection()
            transaction = conn.begin()
            combine = not self._db.is_sqlite
            try:
                try:
                    outcomes = run_units(conn, batch, combine_statements=combine)
                except _Replay:
                    _abandon(transaction)
                    transaction = conn.begin()
                    outcomes = run_units(conn, batch, combine_statements=combine, savepoints=True)
            except Exception:
                _abandon(transaction)
                if attempt == 1 and conn.invalidated:
                    continue
                raise
            if attempt == 1 and conn.invalidated:  # the units saw errors that were not theirs
                _abandon(transaction)
                continue
            return transaction, outcomes
        raise AssertionError("unreachable")

    @staticmethod
    def _finish(transaction, outcomes: list) -> None:
        try:
            if _commits(outcomes):
                transaction.commit()
            else:
                transaction.rollback()  # a lone unit that failed: no savepoint to undo
        except BaseException:
            _abandon(transaction)  # a failed COMMIT may or may not have happened: never run it again
            raise

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()


def _commits(outcomes: list) -> bool:
    """False for a lone unit that failed: its transaction is rolled back whole."""
    return not (len(outcomes) == 1 and outcomes[0][2] is not None)


def _flush_held(transaction) -> None:
    """Run the writes held for the commit (``db/deferred.py``) here, in the loop's thread: in the
    commit thread each of their rows would wait for the GIL the busy loop holds."""
    try:
        deferred.flush(transaction.connection)
    except BaseException:
        _abandon(transaction)  # the batch as a whole: nothing of it is committed
        raise


def _abandon(transaction) -> None:
    if transaction.is_active:
        with contextlib.suppress(Exception):
            transaction.rollback()


def _gave_way(error: BaseException) -> bool:
    # SQLAlchemy wraps the driver's error (``orig``); a prepared statement (db/prepared.py) raises it bare.
    driver_error = getattr(error, "orig", error)
    return getattr(driver_error, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def _settle(future: asyncio.Future, done: asyncio.Future) -> None:
    if future.cancelled():
        return
    error = done.exception()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(done.result())


class _Replay(Exception):
    """A unit of an optimistic batch failed after writing: the batch must run again with savepoints."""


def run_units(
    conn: Connection, batch: list, *, combine_statements: bool = False, savepoints: bool = False
) -> list[tuple[Any, Any, BaseException | None]]:
    """Run ``(token, fn, args, kwargs)`` units inside the open transaction; return ``(token, result, error)``.

    A lone unit runs bare: if it fails, the caller rolls the transaction back. Several units run
    first without savepoints (``_run_optimistically``); ``savepoints``: each in a SAVEPOINT, so
    that one unit's failure undoes only its own writes. ``combine_statements`` (PostgreSQL) sends
    the savepoint bookkeeping between two units as one statement. The last savepoint is left to
    the COMMIT.
    """
    if len(batch) == 1:
        token, fn, args, kwargs = batch[0]
        try:
            return [(token, fn(conn, *args, **kwargs), None)]
        except Exception as exc:
            return [(token, None, exc)]
    if not savepoints:
        return _run_optimistically(conn, batch)
    outcomes: list[tuple[Any, Any, BaseException | None]] = []
    # Savepoints straight on the driver: SQLAlchemy's begin_nested() costs ~50 µs a unit.
    driver = driver_connection(conn)
    before_next = ["SAVEPOINT unit"]
    for token, fn, args, kwargs in batch:
        _execute(driver, before_next, combine_statements)
        held = deferred.mark(conn)
        try:
            result = fn(conn, *args, **kwargs)
        except Exception as exc:
            _execute(driver, ["ROLLBACK TO SAVEPOINT unit", "RELEASE SAVEPOINT unit"], combine_statements)
            deferred.drop_since(conn, held)
            before_next = ["SAVEPOINT unit"]
            outcomes.append((token, None, exc))
        else:
            before_next = ["RELEASE SAVEPOINT unit", "SAVEPOINT unit"]
            outcomes.append((token, result, None))
    return outcomes


def _run_optimistically(conn: Connection, batch: list) -> list[tuple[Any, Any, BaseException | None]]:
    """The batch without savepoints, which most batches do not need: units mostly succeed, and
    those that fail mostly do so before writing anything (a bad key or body, an unknown
    customer). That saves a round trip a unit on PostgreSQL (the unit's CPU went from
    0.30-0.34 to 0.27-0.29 ms a ticket in A/B runs of bench/intake_unit.py pg).
    A unit that fails after a write, or leaves PostgreSQL's transaction aborted, raises
    ``_Replay``: the caller rolls back and runs the batch again with a savepoint per unit."""
    info = conn.info
    outcomes: list[tuple[Any, Any, BaseException | None]] = []
    for token, fn, args, kwargs in batch:
        writes_before = info.get(_WRITES, 0)
        try:
            result = fn(conn, *args, **kwargs)
        except Exception as exc:
            if info.get(_WRITES, 0) != writes_before or _aborted(conn):
                raise _Replay() from exc
            outcomes.append((token, None, exc))
        else:
            outcomes.append((token, result, None))
    return outcomes


# Statements that may write, counted per connection (``conn.info``): SQLAlchemy's through the
# engine event below, the hot path's in ``db/prepared.py``.
_WRITES = "telemetron_writes"


def count_write(conn: Connection) -> None:
    info = conn.info
    info[_WRITES] = info.get(_WRITES, 0) + 1


def driver_connection(conn: Connection) -> DBAPIConnection:
    """The driver's own connection under ``conn``: there for as long as ``conn`` is open."""
    driver = conn.connection.dbapi_connection
    assert driver is not None  # let go of only when ``conn`` closes
    return driver


def _note_write(conn: Connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        count_write(conn)


def _aborted(conn: Connection) -> bool:
    """PostgreSQL refuses every statement of a transaction after an error until it rolls back."""
    if conn.dialect.name != "postgresql":
        return False  # SQLite undoes the failed statement only
    from psycopg.pq import TransactionStatus

    return driver_connection(conn).info.transaction_status == TransactionStatus.INERROR


def _execute(driver, statements: list[str], combine: bool) -> None:
    if combine:
        driver.execute("; ".join(statements))
    else:
        for statement in statements:
            driver.execute(statement)


_READ_ONLY = "telemetron_read_only"


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

    # Writes held for the commit (db/deferred.py) run just before it, and die with a rollback.
    event.listen(engine, "commit", deferred.flush)
    event.listen(engine, "rollback", deferred.discard)
    event.listen(engine, "savepoint", deferred.on_savepoint)
    event.listen(engine, "rollback_savepoint", deferred.on_rollback_savepoint)
    event.listen(engine, "release_savepoint", deferred.on_release_savepoint)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:  # pragma: no cover - exercised by every test
        deferred.discard(conn)  # a connection handed back without COMMIT or ROLLBACK keeps nothing
        # Deferred for readers: in WAL mode they read a snapshot while a writer works.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")

    return engine

"""Writes held until their transaction commits, then run together just before the COMMIT.

For SQLite's FTS5 search index: FTS5 keeps a transaction's new documents in memory and writes them
out as one segment at the commit, but it must also write them out whenever a later statement of
the transaction opens a statement journal (nearly every INSERT or UPDATE does). A document indexed
in the middle of createTicket therefore cost a segment of its own per ticket; held to the end of
the batch, a batch of tickets costs one.

The held writes belong to the connection's current transaction: run by ``flush`` (the group
committer before it hands a batch's COMMIT to its thread, the engine's ``commit`` event, or a
statement that must see them first), dropped by a rollback, and dropped
with whatever rolls back to a savepoint (``begin_nested``'s events, or the batch's own savepoints
through ``mark``/``drop_since``): a dry run's ticket must leave no document behind.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection

_HELD = "telemetron_deferred_writes"
_SAVEPOINTS = "telemetron_deferred_savepoints"


class _Statement(Protocol):
    def execute_many(self, conn: Connection, rows: list[dict[str, Any]]) -> Any: ...


def defer(conn: Connection, statement: _Statement, params: dict[str, Any]) -> None:
    conn.info.setdefault(_HELD, []).append((statement, params))


def flush(conn: Connection) -> None:
    """Run the held writes now, in order, inside the open transaction."""
    held = conn.info.pop(_HELD, None)
    if held:
        # Consecutive writes of one statement (a batch's search documents) in one driver call.
        for statement, group in groupby(held, key=itemgetter(0)):
            statement.execute_many(conn, [params for _, params in group])


def discard(conn: Connection) -> None:
    conn.info.pop(_HELD, None)
    conn.info.pop(_SAVEPOINTS, None)


def on_savepoint(conn: Connection, _name: str | None) -> None:
    # A stack: SQLAlchemy names the savepoint only after this event, and savepoints nest.
    conn.info.setdefault(_SAVEPOINTS, []).append(mark(conn))


def on_rollback_savepoint(conn: Connection, _name: str, _context: Any) -> None:
    marks = conn.info.get(_SAVEPOINTS)
    if marks:
        drop_since(conn, marks.pop())


def on_release_savepoint(conn: Connection, _name: str, _context: Any) -> None:
    marks = conn.info.get(_SAVEPOINTS)
    if marks:
        marks.pop()


def mark(conn: Connection) -> int:
    return len(conn.info.get(_HELD, ()))


def drop_since(conn: Connection, position: int) -> None:
    """Forget what was held after ``mark`` gave ``position`` (its unit rolled back)."""
    held = conn.info.get(_HELD)
    if held is not None:
        del held[position:]

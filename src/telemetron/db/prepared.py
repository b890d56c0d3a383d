"""Statements for the hot path, compiled once per database and run straight on the DBAPI cursor.

SQLAlchemy's execution layer costs ~30 µs per statement here (execution context, result
wrapping, events), against ~3 µs for the database itself; createTicket runs five statements and
its whole budget is ~400 µs. A ``Prepared`` statement is still written in SQLAlchemy Core (so it
is checked against the schema and compiled for SQLite or PostgreSQL by SQLAlchemy, with the
columns' bind processors applied), but executed without the wrapping. It runs inside the
Connection's transaction, on the same DBAPI connection. Use it only where it pays: selects of
plain columns (rows come back as tuples, without result processing) and inserts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from telemetron.db.engine import count_write, driver_connection


class Prepared:
    __slots__ = ("stmt", "_by_dialect")

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._by_dialect: dict[tuple, tuple] = {}

    def _compiled(self, conn: Connection, keys: tuple[str, ...]) -> tuple:
        # An INSERT's columns are the keys it is given, as in SQLAlchemy's own execution.
        cache_key = (conn.dialect.name, keys)
        entry = self._by_dialect.get(cache_key)
        if entry is None:
            compiled = self.stmt.compile(dialect=conn.dialect, column_keys=list(keys))
            assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
            # Bind processors turn Python values into what the driver takes (SQLite has no
            # datetime or boolean type); SQLAlchemy applies them at execution, and so must we.
            processors = dict(compiled._bind_processors)  # noqa: SLF001 - stable across 2.x
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            writes = not compiled.string.lstrip().upper().startswith("SELECT")
            entry = self._by_dialect[cache_key] = (compiled.string, order, processors, writes)
        return entry

    def execute(self, conn: Connection, params: dict[str, Any]):
        """Execute and return the DBAPI cursor (``fetchone``/``fetchall`` give plain tuples)."""
        sql, order, processors, writes = self._compiled(conn, tuple(params))
        if writes:
            count_write(conn)  # for the group committer's optimistic batches (db/engine.py)
        cursor = driver_connection(conn).cursor()
        cursor.execute(sql, _bound(params, order, processors))
        return cursor

    def execute_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """One write for each of ``rows`` (all with the keys of the first), in one driver call."""
        sql, order, processors, writes = self._compiled(conn, tuple(rows[0]))
        if writes:
            count_write(conn)
        driver_connection(conn).cursor().executemany(sql, [_bound(row, order, processors) for row in rows])


def _bound(params: dict[str, Any], order: tuple[str, ...] | None, processors: dict) -> Any:
    """``params`` as the driver takes them: through the columns' processors, in the statement's order."""
    if processors:
        params = {k: (processors[k](v) if k in processors else v) for k, v in params.items()}
    return tuple(params[k] for k in order) if order is not None else params

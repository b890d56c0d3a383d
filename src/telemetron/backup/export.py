"""``telemetron export --org ORG``: one organization's data as JSON lines.

The first line says what the file is: ``{"kind": "telemetron-export", "format": 1,
"organizationId", "schemaRevision", "exportedAt", "notExported": [...]}``. Then one line per row,
``{"kind": "<customer, ticket, ...>", "data": {<column>: <value>}}``, table by table in the
order of ``contents.PARTS`` (foreign keys first), rows by primary key. Timestamps are ISO 8601
in UTC. What is left out, and why, is in ``contents``: never a secret.

It reads one snapshot (PostgreSQL: a REPEATABLE READ, read-only transaction; SQLite: one read
transaction, which in WAL mode does not hold up the server's writes), so a ticket is never
exported without its customer while the server keeps serving.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import Connection, select

from telemetron.backup.contents import FORMAT, HEADER, NOT_EXPORTED, PARTS, Part
from telemetron.db.engine import Database, utcnow
from telemetron.db.scoped import Scoped, tenant_filter
from telemetron.db.tables import organizations
from telemetron.errors import NotFound
from telemetron.tickets import numbers

BATCH_ROWS = 1000


def export_organization(db: Database, org_id: str, write: Callable[[str], object]) -> dict[str, int]:
    """Write the organization's lines (each ending in a newline) through ``write``; returns counts per kind."""
    return db.read_sync(_export, db, org_id, write)


def _export(conn: Connection, db: Database, org_id: str, write) -> dict[str, int]:
    if conn.dialect.name == "postgresql":  # the first statement of the transaction: one snapshot for all
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    if conn.execute(select(organizations.c.id).where(organizations.c.id == org_id)).first() is None:
        raise NotFound(f"No organization {org_id}", code="organization_not_found")
    write(_line({"kind": HEADER, "format": FORMAT, "organizationId": org_id, "schemaRevision": _revision(conn),
                 "exportedAt": utcnow().isoformat(), "notExported": NOT_EXPORTED}))
    counts: dict[str, int] = {}
    for part in PARTS:
        counts[part.kind] = 0
        for row in _rows(Scoped(db, conn, org_id), part):
            write(_line({"kind": part.kind, "data": row}))
            counts[part.kind] += 1
    return counts


def _rows(scoped: Scoped, part: Part) -> Iterator[dict]:
    table = part.table
    stmt = select(*part.columns).order_by(*table.primary_key.columns).execution_options(yield_per=BATCH_ROWS)
    if table is organizations:
        org = scoped.conn.execute(stmt.where(table.c.id == scoped.org_id)).mappings().one()
        # PostgreSQL counts in a sequence, which the column does not follow (tickets/numbers.py).
        yield {**org, "last_ticket_number": numbers.last_number(scoped.conn, scoped.org_id)}
        return
    for row in scoped.execute(stmt.where(tenant_filter(table))).mappings():
        yield dict(row)


def _revision(conn: Connection) -> str | None:
    return conn.exec_driver_sql("select version_num from alembic_version").scalar()


def _line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, default=_encode, separators=(",", ":")) + "\n"


def _encode(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export a {type(value).__name__}")

"""``telemetron import FILE``: an organization export (``backup.export``) into a database that
does not hold it yet, with the same ids, in one transaction: all of it or nothing.

Every line is checked (JSON, a known kind, known fields) and named by number when it is wrong;
ids already taken (the organization, or any row) refuse the whole import. On PostgreSQL the
message ids' sequence is moved past the imported ids, so new messages get fresh ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Integer, insert, select
from sqlalchemy.exc import IntegrityError

from telemetron.backup.contents import BY_KIND, FORMAT, HEADER, PARTS, Part
from telemetron.db.engine import Database
from telemetron.db.tables import UTCDateTime, organizations
from telemetron.errors import Conflict, InvalidRequest
from telemetron.tickets import numbers, search

BATCH_ROWS = 500


def import_lines(db: Database, lines: Iterable[str]) -> dict:
    """Import an export's lines: ``{"organizationId", "counts": {kind: rows}}``."""
    try:
        return db.run_sync(_import, lines)
    except IntegrityError as exc:
        raise Conflict(f"The import conflicts with rows already in this database ({type(exc.orig).__name__}): "
                       "import into an empty database", code="import_conflict") from None


def _import(conn: Connection, lines: Iterable[str]) -> dict:
    numbered = enumerate(lines, start=1)
    header = _header(next(numbered, (1, "")))
    counts = {part.kind: 0 for part in PARTS}
    batch: list[dict] = []
    part: Part | None = None
    org_id = None
    for number, line in numbered:
        if not line.strip():
            continue
        kind, row = _row(number, line)
        if kind != (part.kind if part else None) or len(batch) >= BATCH_ROWS:
            _flush(conn, part, batch)
            batch = []
            if part is None and kind != "organization":
                raise _bad(number, "the organization must come first")
            if kind == "organization":
                _check_new(conn, row)
                org_id = row.get("id")
            part = BY_KIND[kind]
        if kind != "organization" and row.get("organization_id") != org_id:
            raise _bad(number, f"organization_id is not the organization's ({org_id})")
        batch.append(row)
        counts[kind] += 1
    _flush(conn, part, batch)
    if counts["organization"] != 1:
        raise InvalidRequest("The file holds no organization", code="invalid_export")
    _advance_sequences(conn)
    numbers.create_counter(conn, str(org_id))
    search.index_organization(conn, str(org_id))  # set: exactly one organization line was read
    return {"organizationId": header["organizationId"], "counts": counts}


def _header(numbered_line: tuple[int, str]) -> dict:
    number, line = numbered_line
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != HEADER:
        raise _bad(number, "this is not a Telemetron export (its first line is not the export's header)")
    if header.get("format") != FORMAT:
        raise _bad(number, f"export format {header.get('format')!r}; this version reads format {FORMAT}")
    return header


def _row(number: int, line: str) -> tuple[str, dict]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad(number, f"not JSON ({exc.msg})") from None
    if not isinstance(item, dict) or item.get("kind") not in BY_KIND or not isinstance(item.get("data"), dict):
        raise _bad(number, f"expected {{\"kind\": one of {', '.join(BY_KIND)}, \"data\": {{...}}}}")
    part = BY_KIND[item["kind"]]
    columns = {c.name: c for c in part.columns}
    unknown = sorted(set(item["data"]) - set(columns))
    if unknown:
        raise _bad(number, f"unknown field(s) for {part.kind}: {', '.join(unknown)}")
    row = dict(item["data"])
    for name, value in row.items():
        if isinstance(columns[name].type, UTCDateTime) and isinstance(value, str):
            try:
                row[name] = datetime.fromisoformat(value)
            except ValueError:
                raise _bad(number, f"{name} is not an ISO 8601 time: {value!r}") from None
    return part.kind, row


def _check_new(conn: Connection, org: dict) -> None:
    if conn.execute(select(organizations.c.id).where(organizations.c.id == org.get("id"))).first() is not None:
        raise Conflict(f"Organization {org.get('id')} is already in this database: import into an empty database",
                       code="organization_exists")


def _flush(conn: Connection, part: Part | None, batch: list[dict]) -> None:
    if part is not None and batch:
        conn.execute(insert(part.table), batch)


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL: explicit ids do not move a serial column's sequence; move it past them."""
    if conn.dialect.name != "postgresql":
        return
    for part in PARTS:
        for column in part.table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement is not False:
                name = part.table.name
                conn.exec_driver_sql(
                    f"select setval(pg_get_serial_sequence('{name}', '{column.name}'), "
                    f"coalesce((select max({column.name}) from {name}), 0) + 1, false)")


def _bad(number: int, problem: str) -> InvalidRequest:
    return InvalidRequest(f"line {number}: {problem}", code="invalid_export")

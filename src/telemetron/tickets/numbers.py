"""Per-organization ticket numbers (1, 2, 3, ...): the ``[#N]`` of email subjects and the web app.

Two tickets of an organization never share a number, and numbers grow with creation.

- SQLite: the organization's ``last_ticket_number``, incremented in the ticket's transaction (one
  writer at a time, so nothing waits for it).
- PostgreSQL: a sequence per organization (``ticket_numbers_<organization id>``), read by the
  ticket's INSERT itself. Incremented in the transaction, the organization's row stayed locked
  until the ticket's batch committed, and every other batch creating a ticket for the same
  organization (another lane, another process) waited for it. A sequence locks nothing, but gives
  back nothing either: a ticket that is not written (its unit of work failed, or its batch ran
  again) leaves a gap, as numbers do in Zendesk and FreeScout. ``last_ticket_number`` is what the
  sequence said when the organization was exported (``last_number``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import REGCLASS

from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped
from telemetron.db.tables import organizations, tickets

# Plain SQL: a Prepared statement passes only the caller's parameters, not Core's literal binds.
_NEXT = Prepared(text(
    "UPDATE organizations SET last_ticket_number = last_ticket_number + 1 WHERE id = :n_org "
    "RETURNING last_ticket_number"
))
_FROM_SEQUENCE = func.nextval(cast(bindparam("number_sequence"), REGCLASS))
_PLAIN_ID = re.compile(r"[a-z0-9_]{1,40}")


def sequence_name(org_id: str) -> str:
    """The organization's sequence (PostgreSQL); an id that is not plain (an imported file's) is hashed."""
    if _PLAIN_ID.fullmatch(org_id):
        return f"ticket_numbers_{org_id}"
    return "ticket_numbers_h" + hashlib.sha256(org_id.encode()).hexdigest()[:40]


def numbered(insert: Insert) -> Insert:
    """PostgreSQL: ``insert`` (a ticket's) taking its number from the organization's sequence;
    its parameters add ``number_params``."""
    return insert.values(number=_FROM_SEQUENCE)


def number_params(scoped: Scoped) -> dict[str, Any]:
    """What the ticket's INSERT needs to number it: the number (SQLite), the sequence (``numbered``)."""
    if scoped.db.is_sqlite:
        return {"number": scoped.execute_prepared(_NEXT, {"n_org": scoped.org_id}).fetchone()[0]}
    return {"number_sequence": sequence_name(scoped.org_id)}


def create_counter(conn: Connection, org_id: str) -> None:
    """Number the organization's next ticket past its tickets' numbers and ``last_ticket_number``
    (a new organization, an imported one)."""
    last = max(
        conn.execute(select(organizations.c.last_ticket_number).where(organizations.c.id == org_id)).scalar_one(),
        conn.execute(select(func.coalesce(func.max(tickets.c.number), 0))
                     .where(tickets.c.organization_id == org_id)).scalar_one(),
    )
    if conn.dialect.name != "postgresql":
        conn.execute(organizations.update().where(organizations.c.id == org_id).values(last_ticket_number=last))
        return
    name = sequence_name(org_id)
    conn.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {name}")
    # setval(n, false): the next ticket gets n; setval(n, true): it gets n + 1.
    conn.execute(text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                 {"name": name, "value": max(last, 1), "called": last > 0})


def last_number(conn: Connection, org_id: str) -> int:
    """The last number given to a ticket of the organization (0 before the first)."""
    if conn.dialect.name != "postgresql":
        return conn.execute(select(organizations.c.last_ticket_number)
                            .where(organizations.c.id == org_id)).scalar_one()
    called, last = conn.exec_driver_sql(
        f"SELECT is_called, last_value FROM {sequence_name(org_id)}").one()
    return int(last) if called else 0

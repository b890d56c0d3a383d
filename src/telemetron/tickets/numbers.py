"""Per-organization ticket numbers (1, 2, 3, ...): the ``[#N]`` of email subjects and the web app.

Two tickets of an organization never share a number, and numbers grow with creation. The number
is taken by the ticket's INSERT itself (``numbered``): no statement of its own, no row locked.

- SQLite: one past the organization's highest (its tickets' numbers, and ``last_ticket_number``,
  where an import says numbering had reached). One writer at a time, so no two transactions
  see the same highest; a ticket rolled back gives its number back (tickets are never deleted).
- PostgreSQL: a sequence per organization (``ticket_numbers_<organization id>``). A counter in the
  organization's row would stay locked until the ticket's batch commits, and every other batch
  creating a ticket for the same organization (another lane, another process) would wait for it.
  A sequence locks nothing, but gives back nothing either: a ticket that is not written (its unit
  of work failed, or its batch ran again) leaves a gap, as numbers do in Zendesk and FreeScout.

``last_number`` says where numbering is, for exports; ``create_counter`` continues it after an import.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, cast, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.sql.elements import BindParameter

from telemetron.db.scoped import ORG, Scoped
from telemetron.db.tables import organizations, tickets

_FROM_SEQUENCE = func.nextval(cast(bindparam("number_sequence"), REGCLASS))
_ORG: BindParameter[str] = bindparam(ORG)
# Literal 0 and 1: a Prepared statement passes only the caller's parameters, not Core's literal binds.
_PAST_HIGHEST = select(func.max(
    func.coalesce(select(func.max(tickets.c.number)).where(tickets.c.organization_id == _ORG).scalar_subquery(),
                  literal_column("0")),
    select(organizations.c.last_ticket_number).where(organizations.c.id == _ORG).scalar_subquery(),
) + literal_column("1")).scalar_subquery()
_PLAIN_ID = re.compile(r"[a-z0-9_]{1,40}")


def sequence_name(org_id: str) -> str:
    """The organization's sequence (PostgreSQL); an id that is not plain (an imported file's) is hashed."""
    if _PLAIN_ID.fullmatch(org_id):
        return f"ticket_numbers_{org_id}"
    return "ticket_numbers_h" + hashlib.sha256(org_id.encode()).hexdigest()[:40]


def numbered(insert: Insert, dialect: str) -> Insert:
    """``insert`` (a ticket's) taking the organization's next number; its parameters add ``number_params``."""
    return insert.values(number=_FROM_SEQUENCE if dialect == "postgresql" else _PAST_HIGHEST)


def number_params(scoped: Scoped) -> dict[str, Any]:
    """What ``numbered``'s statement needs besides the organization: PostgreSQL's sequence."""
    return {} if scoped.db.is_sqlite else {"number_sequence": sequence_name(scoped.org_id)}


def _highest(conn: Connection, org_id: str) -> int:
    return max(
        conn.execute(select(organizations.c.last_ticket_number).where(organizations.c.id == org_id)).scalar_one(),
        conn.execute(select(func.coalesce(func.max(tickets.c.number), 0))
                     .where(tickets.c.organization_id == org_id)).scalar_one(),
    )


def create_counter(conn: Connection, org_id: str) -> None:
    """PostgreSQL: the organization's sequence, continuing past its highest number (a new
    organization, an imported one). SQLite numbers from the rows themselves: nothing to create."""
    if conn.dialect.name != "postgresql":
        return
    last, name = _highest(conn, org_id), sequence_name(org_id)
    conn.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {name}")
    # setval(n, false): the next ticket gets n; setval(n, true): it gets n + 1.
    conn.execute(text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                 {"name": name, "value": max(last, 1), "called": last > 0})


def last_number(conn: Connection, org_id: str) -> int:
    """The last number given to a ticket of the organization (0 before the first)."""
    if conn.dialect.name != "postgresql":
        return _highest(conn, org_id)
    called, last = conn.exec_driver_sql(f"SELECT is_called, last_value FROM {sequence_name(org_id)}").one()
    return int(last) if called else 0

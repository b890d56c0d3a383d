"""Per-organization ticket numbers (1, 2, 3, ...): the ``[#N]`` of email subjects and the web app.

The counter is a column of the organization, incremented in the ticket's own transaction: a
rolled-back ticket gives its number back, and two tickets never share one (on PostgreSQL the
row lock orders concurrent creations of one organization; SQLite has one writer).
"""

from __future__ import annotations

from sqlalchemy import text

from telemetron.db.prepared import Prepared
from telemetron.db.scoped import Scoped

# Plain SQL: a Prepared statement passes only the caller's parameters, not Core's literal binds.
_NEXT = Prepared(text(
    "UPDATE organizations SET last_ticket_number = last_ticket_number + 1 WHERE id = :n_org "
    "RETURNING last_ticket_number"
))


def next_number(scoped: Scoped) -> int:
    return scoped.execute_prepared(_NEXT, {"n_org": scoped.org_id}).fetchone()[0]

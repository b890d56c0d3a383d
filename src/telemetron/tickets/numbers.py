"""Per-organization ticket numbers (1, 2, 3, ...): the ``[#N]`` of email subjects and the web app.

The counter is a column of the organization, incremented in the ticket's own transaction: a
rolled-back ticket gives its number back, and two tickets never share one (on PostgreSQL the
row lock orders concurrent creations of one organization; SQLite has one writer).
"""

from __future__ import annotations

from sqlalchemy import bindparam, update

from telemetron.db.scoped import Scoped
from telemetron.db.tables import organizations

_o = organizations.c
_NEXT = (
    update(organizations)
    .where(_o.id == bindparam("n_org"))
    .values(last_ticket_number=_o.last_ticket_number + 1)
    .returning(_o.last_ticket_number)
)


def next_number(scoped: Scoped) -> int:
    return scoped.conn.execute(_NEXT, {"n_org": scoped.org_id}).scalar_one()

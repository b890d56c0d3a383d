"""PostgreSQL: a sequence per organization for its ticket numbers

Incremented in the ticket's transaction, the organization's ``last_ticket_number`` kept the row
locked until the ticket's batch committed, so batches creating tickets for one organization ran one
after another (tickets/numbers.py). Each sequence starts past the organization's last number.
SQLite keeps the column.

Revision ID: 0019_ticket_number_sequences
Revises: 0018_ticket_insert_cost
"""

import hashlib
import re

from alembic import op
from sqlalchemy import text

revision = "0019_ticket_number_sequences"
down_revision = "0018_ticket_insert_cost"
branch_labels = None
depends_on = None


def _sequence(org_id: str) -> str:  # as tickets/numbers.py names it, frozen here
    if re.fullmatch(r"[a-z0-9_]{1,40}", org_id):
        return f"ticket_numbers_{org_id}"
    return "ticket_numbers_h" + hashlib.sha256(org_id.encode()).hexdigest()[:40]


_LAST = text(
    "SELECT o.id, greatest(o.last_ticket_number, coalesce(max(t.number), 0)) FROM organizations o "
    "LEFT JOIN tickets t ON t.organization_id = o.id GROUP BY o.id, o.last_ticket_number"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for org_id, last in bind.execute(_LAST).all():
        name = _sequence(org_id)
        bind.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {name}")
        bind.execute(text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                     {"name": name, "value": max(last, 1), "called": last > 0})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for (org_id,) in bind.execute(text("SELECT id FROM organizations")).all():
        name = _sequence(org_id)
        bind.execute(text(
            f"UPDATE organizations SET last_ticket_number = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
            f"FROM {name}) WHERE id = :id"), {"id": org_id})
        bind.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {name}")

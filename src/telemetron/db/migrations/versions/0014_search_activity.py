"""tickets: full-text search index, last customer message and "waiting on us", per-member seen
markers, and indexes for the filters that match few tickets

Revision ID: 0014_search_activity
Revises: 0013_email_channel
"""

import sqlalchemy as sa
from alembic import op

from telemetron.db.tables import UTCDateTime

revision = "0014_search_activity"
down_revision = "0013_email_channel"
branch_labels = None
depends_on = None

_UNRESOLVED = "status <> 'resolved'"
_INDEXES = [
    ("ix_tickets_category_updated", ["organization_id", "category_id", "updated_at", "id"], None),
    ("ix_tickets_category_created", ["organization_id", "category_id", "created_at", "id"], None),
    ("ix_tickets_status_updated", ["organization_id", "status", "updated_at", "id"], None),
    ("ix_tickets_assignee_updated", ["organization_id", "assignee_id", "updated_at", "id"], None),
    ("ix_tickets_priority_updated", ["organization_id", "priority", "updated_at", "id"], None),
    ("ix_tickets_unresolved_updated", ["organization_id", "updated_at", "id"], _UNRESOLVED),
    ("ix_tickets_unresolved_created", ["organization_id", "created_at", "id"], _UNRESOLVED),
]
# Backfill from the conversations: the newest customer message, and since when the customer
# has been waiting (their messages after the last agent or bot message).
_LAST_CUSTOMER = (
    "UPDATE tickets SET last_customer_message_at = (SELECT max(m.created_at) FROM ticket_messages m "
    "WHERE m.ticket_id = tickets.id AND m.role = 'customer')"
)
_WAITING = (
    "UPDATE tickets SET waiting_since = (SELECT min(m.created_at) FROM ticket_messages m "
    "WHERE m.ticket_id = tickets.id AND m.role = 'customer' AND m.position > coalesce("
    "(SELECT max(a.position) FROM ticket_messages a WHERE a.ticket_id = tickets.id AND a.role <> 'customer'), -1))"
)


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_customer_message_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("waiting_since", UTCDateTime(), nullable=True))
    for name, columns, where in _INDEXES:
        extra = {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)} if where else {}
        op.create_index(name, "tickets", columns, **extra)
    op.create_table(
        "ticket_seen",
        sa.Column("organization_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )
    op.execute(_LAST_CUSTOMER)
    op.execute(_WAITING)

    from telemetron.tickets import search

    conn = op.get_bind()
    for statement in search.CREATE_INDEX[conn.dialect.name]:
        op.execute(statement)
    search.rebuild(conn)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ticket_search_vocab")
    op.execute("DROP TABLE ticket_search")
    op.drop_table("ticket_seen")
    for name, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("waiting_since")
        batch_op.drop_column("last_customer_message_at")

"""search: the index's words readable one seek at a time (SQLite); a customer's tickets by creation

Revision ID: 0016_search_speed
Revises: 0015_workspace
"""

from alembic import op

revision = "0016_search_speed"
down_revision = "0015_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_customer_created", "tickets", ["organization_id", "customer_id", "created_at", "id"])
    if op.get_bind().dialect.name != "sqlite":
        return
    from telemetron.tickets import search

    # fts5vocab tables hold no data: creating and dropping them costs nothing at any size.
    op.execute("DROP TABLE IF EXISTS ticket_search_vocab")
    op.execute(search.CREATE_TERMS)


def downgrade() -> None:
    op.drop_index("ix_tickets_customer_created", table_name="tickets")
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS ticket_search_terms")
    op.execute("CREATE VIRTUAL TABLE ticket_search_vocab USING fts5vocab(ticket_search, 'row')")

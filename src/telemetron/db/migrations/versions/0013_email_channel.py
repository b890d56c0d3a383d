"""email channel: mailboxes, per-organization ticket numbers, message visibility/channel/delivery, attachments

Revision ID: 0013_email_channel
Revises: 0012_ops
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_email_channel"
down_revision = "0012_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organization_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("smtp_url", sa.Text(), nullable=False),
        sa.Column("imap_url", sa.Text(), nullable=True),
        sa.Column("inbound_secret_hash", sa.String(64), nullable=False),
        sa.Column("imap_uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("imap_last_uid", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("address", name="uq_mailboxes_address"),
        sa.UniqueConstraint("inbound_secret_hash", name="uq_mailboxes_inbound_secret_hash"),
    )
    op.create_index("ix_mailboxes_organization_id", "mailboxes", ["organization_id"])
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.add_column(sa.Column("last_ticket_number", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mailbox_id", sa.String(32), nullable=True))
        batch_op.create_foreign_key("fk_tickets_mailbox_id_mailboxes", "mailboxes", ["mailbox_id"], ["id"])
    _number_existing_tickets()
    op.create_index("ix_tickets_organization_id_number", "tickets", ["organization_id", "number"], unique=True)
    with op.batch_alter_table("ticket_messages") as batch_op:
        batch_op.add_column(sa.Column("visibility", sa.String(16), nullable=False, server_default="public"))
        batch_op.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="api"))
        batch_op.add_column(sa.Column("email_message_id", sa.String(998), nullable=True))
        batch_op.add_column(sa.Column("delivery_state", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("thread_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("original_content", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("email_source", sa.Text(), nullable=True))
    op.create_index("ix_ticket_messages_organization_id_email_message_id", "ticket_messages",
                    ["organization_id", "email_message_id"], unique=True)
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organization_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("ticket_messages.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("inline", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attachments_ticket_id", "attachments", ["ticket_id"])


def _number_existing_tickets() -> None:
    """Existing tickets get numbers 1, 2, ... per organization in creation order (one statement:
    UPDATE ... FROM, SQLite 3.33+ and PostgreSQL)."""
    op.execute(
        "UPDATE tickets SET number = n.rn FROM (SELECT id, ROW_NUMBER() OVER "
        "(PARTITION BY organization_id ORDER BY created_at, id) AS rn FROM tickets) AS n WHERE n.id = tickets.id"
    )
    op.execute(
        "UPDATE organizations SET last_ticket_number = "
        "(SELECT COALESCE(MAX(number), 0) FROM tickets WHERE tickets.organization_id = organizations.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_attachments_ticket_id", table_name="attachments")
    op.drop_table("attachments")
    op.drop_index("ix_ticket_messages_organization_id_email_message_id", table_name="ticket_messages")
    with op.batch_alter_table("ticket_messages") as batch_op:
        for column in ("email_source", "original_content", "thread_reason", "delivery_error", "delivery_state",
                       "email_message_id", "channel", "visibility"):
            batch_op.drop_column(column)
    op.drop_index("ix_tickets_organization_id_number", table_name="tickets")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint("fk_tickets_mailbox_id_mailboxes", type_="foreignkey")
        batch_op.drop_column("mailbox_id")
        batch_op.drop_column("number")
    with op.batch_alter_table("organizations") as batch_op:
        batch_op.drop_column("last_ticket_number")
    op.drop_index("ix_mailboxes_organization_id", table_name="mailboxes")
    op.drop_table("mailboxes")

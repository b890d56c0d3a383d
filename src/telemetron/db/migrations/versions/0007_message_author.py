"""ticket messages: the team member who wrote an agent message in the web app

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_member_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_messages_author_member_id_members"), "members", ["author_member_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_messages_author_member_id_members"), type_="foreignkey")
        batch_op.drop_column("author_member_id")

"""webhook_endpoints: the previous signing secret and until when it still signs (rotation overlap)

Revision ID: 0012_ops
Revises: 0011_rate_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_ops"
down_revision = "0011_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret")

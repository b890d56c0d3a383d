"""organizations: their own API rate limit (telemetron org rate-limit)

Revision ID: 0011_rate_limits
Revises: 0010_accounts_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_rate_limits"
down_revision = "0010_accounts_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("rate_limit")

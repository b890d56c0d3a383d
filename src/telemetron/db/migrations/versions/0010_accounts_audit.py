"""accounts: sign-in throttling counted before the password is checked (per email and per address)

Revision ID: 0010_accounts_audit
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_accounts_audit"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_throttle")),
    )
    with op.batch_alter_table("signin_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_throttle_updated_at"), ["updated_at"], unique=False)
    # The per-member counters move to signin_throttle (one per email, like an unknown email's).
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_signins")


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_signins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("signin_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_throttle_updated_at"))
    op.drop_table("signin_throttle")

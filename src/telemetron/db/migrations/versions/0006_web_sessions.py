"""web app: members' role and password, sign-in throttling, member sessions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="agent"))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("failed_signins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "member_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_sessions_member_id_members")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_member_sessions_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_member_sessions")),
    )
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_sessions_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_sessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_member_sessions_member_id"))
    op.drop_table("member_sessions")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_signins")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("role")

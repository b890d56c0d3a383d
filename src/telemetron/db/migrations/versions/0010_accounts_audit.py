"""accounts: sign-in throttling counted before the password is checked (per email and per address);
audit log; TOTP two-factor sign-in (members' secret, recovery codes, session stage, organization requirement)

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
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_audit_events_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_organization_id_id", ["organization_id", "id"], unique=False)
    # The per-member counters move to signin_throttle (one per email, like an unknown email's).
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_signins")
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("require_2fa", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=False, server_default="full"))
    op.create_table(
        "member_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_recovery_codes_member_id_members")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_member_recovery_codes_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_recovery_codes")),
    )
    with op.batch_alter_table("member_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_recovery_codes_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_recovery_codes_member_id"))
    op.drop_table("member_recovery_codes")
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.drop_column("stage")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("require_2fa")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_organization_id_id")
    op.drop_table("audit_events")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_signins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("signin_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_throttle_updated_at"))
    op.drop_table("signin_throttle")

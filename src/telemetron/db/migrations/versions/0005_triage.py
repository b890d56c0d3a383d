"""triage: category examples, ticket candidates and corrections, per-organization models

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage_threshold", sa.Float(), nullable=True))
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("examples", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category_candidates", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("category_corrected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "triage_models",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("example_count", sa.Integer(), nullable=False),
        sa.Column("labelled_tickets", sa.Integer(), nullable=False),
        sa.Column("categories_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tickets_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_triage_models_organization_id_organizations")),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_triage_models")),
    )


def downgrade() -> None:
    op.drop_table("triage_models")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("category_corrected_at")
        batch_op.drop_column("category_candidates")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("examples")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("triage_threshold")

"""the agents' workspace: macros (canned replies), saved views, ticket presence

Revision ID: 0015_workspace
Revises: 0014_search_activity
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_workspace"
down_revision = "0014_search_activity"
branch_labels = None
depends_on = None


def _org():
    return sa.Column("organization_id", sa.String(length=32), nullable=False)


def _org_fk(table: str):
    return sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                   name=op.f(f"fk_{table}_organization_id_organizations"))


def upgrade() -> None:
    op.create_table(
        "macros",
        sa.Column("id", sa.String(length=32), nullable=False),
        _org(),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk("macros"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
        sa.UniqueConstraint("organization_id", "name", name="uq_macros_organization_id_name"),
    )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.String(length=32), nullable=False),
        _org(),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_saved_views_member_id_members")),
        _org_fk("saved_views"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index("ix_saved_views_organization_id_member_id", "saved_views", ["organization_id", "member_id"])
    op.create_table(
        "ticket_presence",
        _org(),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("replying", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_ticket_presence_member_id_members")),
        _org_fk("ticket_presence"),
        sa.PrimaryKeyConstraint("ticket_id", "member_id", name=op.f("pk_ticket_presence")),
    )


def downgrade() -> None:
    op.drop_table("ticket_presence")
    op.drop_index("ix_saved_views_organization_id_member_id", table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_table("macros")

"""outbox: an organization's listing indexes deliveries only, so a ticket's event row maintains one index

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_DELIVERIES = sa.text("channel <> 'event'")


def upgrade() -> None:
    op.drop_index("ix_outbox_organization_id_created_at", table_name="outbox")
    op.create_index("ix_outbox_deliveries_by_organization", "outbox", ["organization_id", "id"],
                    sqlite_where=_DELIVERIES, postgresql_where=_DELIVERIES)


def downgrade() -> None:
    op.drop_index("ix_outbox_deliveries_by_organization", table_name="outbox")
    op.create_index("ix_outbox_organization_id_created_at", "outbox", ["organization_id", "created_at"])

"""settings in the web app: Slack's default channel, a webhook endpoint's recent deliveries

Revision ID: 0017_settings_pages
Revises: 0015_workspace
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_settings_pages"
down_revision = "0016_search_speed"
branch_labels = None
depends_on = None

_WEBHOOKS = "channel = 'webhook'"


def upgrade() -> None:
    with op.batch_alter_table("notification_settings") as batch:
        batch.add_column(sa.Column("slack_channel", sa.String(length=81), nullable=True))
    op.create_index("ix_outbox_webhook_deliveries", "outbox", ["organization_id", "target", "id"],
                    sqlite_where=sa.text(_WEBHOOKS), postgresql_where=sa.text(_WEBHOOKS))


def downgrade() -> None:
    op.drop_index("ix_outbox_webhook_deliveries", table_name="outbox")
    with op.batch_alter_table("notification_settings") as batch:
        batch.drop_column("slack_channel")

"""tickets: no index on customer_id alone

Every query of a customer's tickets names the organization too, and ix_tickets_customer_created
(organization, customer, created) serves it; customers are never deleted, so no foreign-key check
looks for a customer's tickets. Each ticket paid for a second random insert into a customer index.

Revision ID: 0018_ticket_insert_cost
Revises: 0017_settings_pages
"""

from alembic import op

revision = "0018_ticket_insert_cost"
down_revision = "0017_settings_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tickets_customer_id", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])

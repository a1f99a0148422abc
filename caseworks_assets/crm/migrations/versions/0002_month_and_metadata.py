"""The interaction's month (statistics per month without date functions that differ between stores),
the snapshot's metadata (its version, served by ``/healthz``) and, on PostgreSQL, the lookup index.

DuckDB snapshots are written sorted by customer, so its zone maps already narrow a
customer's lookup; an ART index would only slow the load.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("month", sa.Date, nullable=True))
    op.create_table(
        "serving_meta",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.String, nullable=False),
    )
    if op.get_bind().dialect.name != "duckdb":
        op.create_index("ix_interactions_customer_day", "interactions", ["customer_id", "day"])
        op.create_index("ix_customers_type", "customers", ["customer_type", "customer_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "duckdb":
        op.drop_index("ix_customers_type", "customers")
        op.drop_index("ix_interactions_customer_day", "interactions")
    op.drop_table("serving_meta")
    op.drop_column("interactions", "month")

"""Serving tables: customers, the known channels and interactions with their topic.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("occupation", sa.String, nullable=True),
        sa.Column("customer_type", sa.String, nullable=True),
    )
    op.create_table("channels", sa.Column("channel", sa.String, primary_key=True))
    op.create_table(
        "interactions",
        sa.Column("customer_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("topic", sa.String, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("interactions")
    op.drop_table("channels")
    op.drop_table("customers")

"""The observation inbox: SQLite commits small writes by appending, and merges them in bulk.

A database created from the baseline after the table was added already has it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the inbox table if it is missing."""
    if "observation_inbox" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "observation_inbox",
            sa.Column("seq", sa.Integer, primary_key=True),
            sa.Column("indicator_id", sa.Integer, nullable=False),
            sa.Column("ts", sa.BigInteger, nullable=False),
            sa.Column("value", sa.Float, nullable=False),
        )


def downgrade() -> None:
    """Drop the inbox (merge it first: `tocsin` merges whenever it writes in bulk)."""
    op.drop_table("observation_inbox")

"""Detector rules on indicators, and rule checkpoints.

Adds `indicators.detector` (JSON) and the `rule_checkpoints` table. A database created from the
baseline after these were added to the table definitions already has them, so each step only
adds what is missing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the detector column and the checkpoint table where missing."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("indicators")}
    if "detector" not in columns:
        with op.batch_alter_table("indicators") as batch:
            batch.add_column(sa.Column("detector", sa.JSON, nullable=True))
    if "rule_checkpoints" not in inspector.get_table_names():
        op.create_table(
            "rule_checkpoints",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
        )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("rule_checkpoints")
    with op.batch_alter_table("indicators") as batch:
        batch.drop_column("detector")

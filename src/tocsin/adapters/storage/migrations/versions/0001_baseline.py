"""Baseline schema: every table of tocsin.adapters.storage.tables at version 1.

The baseline creates the tables from the metadata; every later change is an explicit migration
(op.add_column, op.create_table, ...) in its own file.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the baseline tables."""
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop every table."""
    metadata.drop_all(bind=op.get_bind())

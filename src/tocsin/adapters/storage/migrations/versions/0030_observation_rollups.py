"""Observation rollups: per-interval summaries of observations past their raw retention.

Revision ID: 0030
Revises: 0022
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.rollup_tables import rollup_metadata

revision = "0030"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the rollup table."""
    rollup_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop it."""
    rollup_metadata.drop_all(bind=op.get_bind())

"""Leases: one owner per piece of shared state (rule state, dispatcher), fenced writes.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.lease_tables import lease_metadata

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the leases table."""
    lease_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop it."""
    lease_metadata.drop_all(bind=op.get_bind())

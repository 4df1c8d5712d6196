"""Warning pipeline: feed cursor, groups, escalations, silences, notification outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.alerting_tables import alerting_metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the alerting tables."""
    alerting_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop the alerting tables."""
    alerting_metadata.drop_all(bind=op.get_bind())

"""Public hazard reports: reports, public updates, photos, sealed contacts (issue 18).

Revision ID: 0020
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.report_tables import report_metadata

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the report tables (and their indexes)."""
    report_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop the report tables."""
    report_metadata.drop_all(bind=op.get_bind())

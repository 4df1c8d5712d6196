"""Stream offsets: per partition of the ingest stream, the last sequence a worker committed.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.stream_offset_tables import stream_offset_metadata

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the offsets table."""
    stream_offset_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop it."""
    stream_offset_metadata.drop_all(bind=op.get_bind())

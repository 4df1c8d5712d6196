"""Public alerts (CAP messages drafted, approved, published; their regions and feed entries) and
CAP messages imported from other agencies, with the sources polled.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from tocsin.adapters.storage.cap_tables import cap_metadata

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the public alert and CAP import tables."""
    cap_metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop them."""
    cap_metadata.drop_all(bind=op.get_bind())

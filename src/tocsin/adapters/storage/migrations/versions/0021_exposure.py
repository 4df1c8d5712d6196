"""Exposure: advisories, imported software, patches; assets gain software and addresses.

A database created from the baseline after the asset columns were added already has them.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.adapters.storage.exposure_tables import exposure_metadata

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ASSET_COLUMNS = (
    ("software", lambda: sa.Column("software", sa.JSON, nullable=False, server_default="[]")),
    ("addresses", lambda: sa.Column("addresses", sa.JSON, nullable=False, server_default="[]")),
    ("alerts_indicator", lambda: sa.Column("alerts_indicator", sa.String(128), nullable=True)),
)


def upgrade() -> None:
    """Create the exposure tables; add the asset columns that are missing."""
    exposure_metadata.create_all(bind=op.get_bind())
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("assets")}
    for name, column in ASSET_COLUMNS:
        if name not in have:
            op.add_column("assets", column())
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("events")}
    if "ix_events_asset_occurred" not in indexes:
        op.create_index("ix_events_asset_occurred", "events", ["asset", "occurred_at"])


def downgrade() -> None:
    """Drop the exposure tables and the asset columns."""
    exposure_metadata.drop_all(bind=op.get_bind())
    op.drop_index("ix_events_asset_occurred", table_name="events")
    with op.batch_alter_table("assets") as batch:
        for name, _ in ASSET_COLUMNS:
            batch.drop_column(name)

"""The response: incidents, their links, tasks and situation reports; the audit log by time.

- `incidents`, `incident_links`, `tasks`, `situation_reports` (incident_tables.py);
- `audit_log (at)`: scorecards read the trail by period.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.adapters.storage.incident_tables import incident_metadata

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

AUDIT_AT = "ix_audit_at"


def upgrade() -> None:
    """Create the response's tables and the audit log's index by time."""
    incident_metadata.create_all(bind=op.get_bind())
    present = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("audit_log")}
    if AUDIT_AT not in present:
        op.create_index(AUDIT_AT, "audit_log", ["at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index(AUDIT_AT, table_name="audit_log")
    incident_metadata.drop_all(bind=op.get_bind())

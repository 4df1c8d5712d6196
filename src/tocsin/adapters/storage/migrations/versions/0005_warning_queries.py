"""Indexes for the warning queries, content-derived notification keys, escalation reasons.

- `warnings (state, level, region)` replaces `warnings (state)`: counts by level and open
  warnings by region become index-only scans; `warnings (subject)` finds an indicator's warnings.
- `alert_groups.flushes` is dropped: a group notification's idempotency key is derived from its
  content now, not from a counter that restarted when an emptied group was created again.
- Escalations stopped before this revision carry free-text reasons; they become the values of
  `EscalationReason` (acknowledged, lifted, closed, finished).

A database created from the baseline after these were added to the table definitions already
has them, so each step only does what is missing.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NEW_INDEXES = {
    "ix_warnings_state_level_region": ["state", "level", "region"],
    "ix_warnings_subject": ["subject"],
}
REASONS = {  # old free text (LIKE pattern) -> reason value
    "acknowledged%": "acknowledged",
    "lifted%": "lifted",
    "closed": "closed",
    "no more steps": "finished",
}


def upgrade() -> None:
    """Add the indexes, drop the flush counter, turn stop reasons into their values."""
    inspector = sa.inspect(op.get_bind())
    present = {i["name"] for i in inspector.get_indexes("warnings")}
    for name, columns in NEW_INDEXES.items():
        if name not in present:
            op.create_index(name, "warnings", columns)
    if "ix_warnings_state" in present:
        op.drop_index("ix_warnings_state", table_name="warnings")
    if "flushes" in {c["name"] for c in inspector.get_columns("alert_groups")}:
        with op.batch_alter_table("alert_groups") as batch:
            batch.drop_column("flushes")
    escalations = sa.table("escalations", sa.column("stop_reason", sa.Text))
    for pattern, value in REASONS.items():
        op.execute(
            escalations.update()
            .where(escalations.c.stop_reason.like(pattern))
            .values(stop_reason=value)
        )


def downgrade() -> None:
    """Back to the single state index and the flush counter."""
    op.drop_index("ix_warnings_subject", table_name="warnings")
    op.drop_index("ix_warnings_state_level_region", table_name="warnings")
    op.create_index("ix_warnings_state", "warnings", ["state"])
    with op.batch_alter_table("alert_groups") as batch:
        batch.add_column(sa.Column("flushes", sa.Integer, nullable=False, server_default="0"))

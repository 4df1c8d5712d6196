"""Public reports' deadlines: the overdue steps frozen onto each report, as on a task.

A database whose report tables were created after these columns were added already has them.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = (
    (
        "reminder_steps",
        lambda: sa.Column("reminder_steps", sa.JSON, nullable=False, server_default="[]"),
    ),
    (
        "reminder_progress",
        lambda: sa.Column("reminder_progress", sa.Integer, nullable=False, server_default="0"),
    ),
    (
        "reminder_due_at",
        lambda: sa.Column("reminder_due_at", sa.DateTime(timezone=True), nullable=True),
    ),
)
INDEX = "ix_reports_reminder_due_at"


def upgrade() -> None:
    """Add the reminder columns and their index where they are missing."""
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("reports")}
    for name, column in COLUMNS:
        if name not in have:
            op.add_column("reports", column())
    if INDEX not in {i["name"] for i in inspector.get_indexes("reports")}:
        op.create_index(INDEX, "reports", ["reminder_due_at"])


def downgrade() -> None:
    """Drop the reminder columns."""
    op.drop_index(INDEX, table_name="reports")
    with op.batch_alter_table("reports") as batch:
        for name, _ in COLUMNS:
            batch.drop_column(name)

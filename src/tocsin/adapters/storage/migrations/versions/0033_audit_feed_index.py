"""The audit log: an index on (subject_type, id), for the warning feed's reads.

Each follower of the warning feed (the dispatcher, the public alerts' follower, the responder)
reads the next warning transitions after its position, in id order, every pass. With only the
(subject_type, subject_id) index, SQLite's plan took every warning record of the log from that
index and sorted them to find the next 500: a read grew with the whole history (1.5 ms at
10,000 records, in a storm drained at about 1,500 a second, three followers reading). With
(subject_type, id) one range scan answers, in order, whatever the log's length. A database
whose audit log was created after this change already has the index.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

NAME = "ix_audit_subject_type_id"


def upgrade() -> None:
    """Create the index where it is missing."""
    have = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("audit_log")}
    if NAME not in have:
        op.create_index(NAME, "audit_log", ["subject_type", "id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index(NAME, table_name="audit_log")

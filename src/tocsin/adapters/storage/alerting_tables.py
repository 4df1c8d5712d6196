"""Tables of the warning pipeline (groups, escalations, silences, outbox), on their own MetaData.

Created by migration 0002; kept apart from `tables.py` so the foundation baseline stays as it was.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from tocsin.adapters.storage.columns import moment
from tocsin.adapters.storage.sealing import SealedText

alerting_metadata = MetaData()

# how far the dispatcher has read the audit log (the committed change feed of warnings)
alert_feed = Table(
    "alert_feed",
    alerting_metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("done_above", JSON, nullable=False),  # ids > position already processed (gaps)
)

alert_groups = Table(
    "alert_groups",
    alerting_metadata,
    Column("id", String(32), primary_key=True),
    Column("route_id", String(64), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("labels", JSON, nullable=False),
    moment("created_at", nullable=False),
    moment("next_flush_at", nullable=True, index=True),
    moment("last_flush_at", nullable=True),
    moment("last_notified_at", nullable=True),
    Column("notified", JSON, nullable=False),
)

alert_group_members = Table(
    "alert_group_members",
    alerting_metadata,
    Column("group_id", String(32), primary_key=True),
    Column("warning_id", String(40), primary_key=True),
    Index("ix_alert_group_members_warning", "warning_id"),
)

escalations = Table(
    "escalations",
    alerting_metadata,
    Column("warning_id", String(40), primary_key=True),
    Column("snapshot", JSON, nullable=False),
    Column("progress", Integer, nullable=False),
    moment("next_due_at", nullable=True, index=True),
    moment("stopped_at", nullable=True),
    Column("stop_reason", Text, nullable=True),
)

silences = Table(
    "silences",
    alerting_metadata,
    Column("id", String(40), primary_key=True),
    Column("selector", JSON, nullable=False),
    moment("starts_at", nullable=False),
    moment("ends_at", nullable=False, index=True),
    Column("created_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    moment("created_at", nullable=False),
    Column("expired_by", String(64), nullable=True),
    Column("expiry_noticed", Boolean, nullable=False, default=False),
    # migration 0009: why a broad silence needs a second user, and their decision (approval_json)
    Column("approval", JSON, nullable=True),
)

notifications = Table(
    "notifications",
    alerting_metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", SealedText, nullable=False),  # URL or e-mail address: encrypted
    Column("format", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("warning_ids", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    moment("created_at", nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    moment("next_attempt_at", nullable=True),
    moment("delivered_at", nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_notifications_due", "status", "next_attempt_at"),
)

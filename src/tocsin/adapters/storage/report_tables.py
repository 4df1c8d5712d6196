"""Tables of public reports (migration 0020): reports, their public updates, photos, and the
reporters' sealed contacts (kept apart so that deleting one leaves the report whole)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from tocsin.adapters.storage.columns import moment

report_metadata = MetaData()

reports = Table(
    "reports",
    report_metadata,
    Column("id", String(40), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("region", String(64), nullable=False),
    Column("unit", String(64), nullable=True),
    moment("requested_at", nullable=False),
    moment("updated_at", nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_note", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("address", Text, nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("client", String(64), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("cluster", String(40), nullable=True),
    Column("duplicate_of", String(40), nullable=True),
    Column("incident", String(64), nullable=True),
    Column("has_photo", Boolean, nullable=False),
    Column("has_contact", Boolean, nullable=False),
    # overdue steps, as a task's (migration 0022): frozen steps, steps taken, next one due
    Column("reminder_steps", JSON, nullable=False, server_default="[]"),
    Column("reminder_progress", Integer, nullable=False, server_default="0"),
    moment("reminder_due_at", nullable=True),
    Index("ix_reports_requested_at", "requested_at"),
    # reports near a point in a time window (clustering; migration 0032)
    Index("ix_reports_service_lat_at", "service", "lat", "requested_at"),
    Index("ix_reports_cluster", "cluster"),
    Index("ix_reports_fingerprint", "fingerprint", "requested_at"),
    Index("ix_reports_unit_status", "unit", "status"),
    Index("ix_reports_reminder_due_at", "reminder_due_at"),
)

report_updates = Table(
    "report_updates",
    report_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(40), nullable=False, index=True),
    moment("at", nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=False),
)

report_photos = Table(
    "report_photos",
    report_metadata,
    Column("report_id", String(40), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

report_contacts = Table(
    "report_contacts",
    report_metadata,
    Column("report_id", String(40), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    moment("delete_at", nullable=False, index=True),
)

"""Tables of the response (incidents, their links, tasks, situation reports), on their own
MetaData; created by migration 0006."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from tocsin.adapters.storage.columns import moment, placement_columns

incident_metadata = MetaData()

incidents = Table(
    "incidents",
    incident_metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(256), nullable=True),
    Column("title", Text, nullable=False),
    *placement_columns(),
    Column("state", String(16), nullable=False),
    Column("plan", String(128), nullable=True),
    Column("plan_level", String(8), nullable=True),
    Column("response_level", String(4), nullable=True),
    Column("lead_unit", String(64), nullable=True),
    moment("opened_at", nullable=False),
    moment("updated_at", nullable=False),
    moment("activated_at", nullable=True),
    moment("stand_down_proposed_at", nullable=True),
    moment("stood_down_at", nullable=True),
    moment("closed_at", nullable=True),
    Column("merged_into", String(40), nullable=True),
    Index("ix_incidents_state_region", "state", "region"),
)
# at most one open incident per key (activation is idempotent)
Index(
    "uq_incidents_open_key",
    incidents.c.key,
    unique=True,
    sqlite_where=text("state != 'closed' AND key IS NOT NULL"),
    postgresql_where=text("state != 'closed' AND key IS NOT NULL"),
)

incident_links = Table(
    "incident_links",
    incident_metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("ref", String(128), primary_key=True),
    Index("ix_incident_links_ref", "kind", "ref"),
)

tasks = Table(
    "tasks",
    incident_metadata,
    Column("id", String(40), primary_key=True),
    Column("incident_id", String(40), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("unit", String(64), nullable=False),
    *placement_columns(),
    Column("state", String(16), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("template", String(128), nullable=False),
    Column("assignment", Text, nullable=False),
    Column("accept_within_s", Integer, nullable=True),
    Column("complete_within_s", Integer, nullable=True),
    Column("checklist", JSON, nullable=False),
    Column("depends_on", JSON, nullable=False),
    moment("created_at", nullable=False),
    moment("updated_at", nullable=False),
    moment("assigned_at", nullable=True),
    moment("accept_due_at", nullable=True),
    moment("complete_due_at", nullable=True),
    moment("accepted_at", nullable=True),
    moment("completed_at", nullable=True),
    Column("outcome", Text, nullable=True),
    Column("blocked_reason", Text, nullable=True),
    Column("reminder_steps", JSON, nullable=False),
    Column("reminder_progress", Integer, nullable=False),
    moment("next_reminder_at", nullable=True, index=True),
    Index("ix_tasks_unit_state", "unit", "state"),
)

situation_reports = Table(
    "situation_reports",
    incident_metadata,
    Column("id", String(40), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(128), nullable=False),
    moment("created_at", nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("facts", JSON, nullable=False),
    Index("ix_situation_reports_subject", "subject_kind", "subject_id", "created_at"),
)

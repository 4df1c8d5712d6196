"""Everything the in-memory store holds, as plain containers of immutable values.

A transaction works on a copy (`fork`) and replaces the state with it when it commits, so a
failed transaction leaves nothing behind. Containers that a repository changes in place (the
observations of one indicator, the members of one group) are copied by that repository before
its first change in the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import Head
from tocsin.core.cap.imports import ImportedAlert, Key
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.catalog import Catalog
from tocsin.core.credentials import ApiToken, SignIn
from tocsin.core.events import Event
from tocsin.core.exposure.advisories import Advisory
from tocsin.core.exposure.exposures import Patch
from tocsin.core.incidents.model import Incident
from tocsin.core.incidents.tasks import Task
from tocsin.core.leases import Lease
from tocsin.core.observation_rollups import Rollup
from tocsin.core.reports import Photo, Report, ReportUpdate
from tocsin.core.users import User
from tocsin.core.warnings.escalation import Escalation
from tocsin.core.warnings.grouping import AggregationGroup
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Notification
from tocsin.core.warnings.silences import Silence
from tocsin.ports.cap_imports import SourceState
from tocsin.ports.incidents import StoredReport
from tocsin.ports.reports import SealedContact

ThresholdRow = tuple[int, int, bytes, bytes]  # level, last time, above since, below since


@dataclass
class MemoryState:
    """The stored data, one container per table."""

    observations: dict[int, dict[int, float]] = field(default_factory=dict)
    rollups: dict[tuple[int, int, int], Rollup] = field(default_factory=dict)  # id, interval, ts
    catalog: Catalog | None = None
    indicator_ids: dict[str, int] = field(default_factory=dict)
    thresholds: dict[int, ThresholdRow] = field(default_factory=dict)
    checkpoints: dict[str, bytes] = field(default_factory=dict)
    stream_offsets: dict[int, int] = field(default_factory=dict)
    events: dict[tuple[str, str], tuple[Event, datetime]] = field(default_factory=dict)
    warnings: dict[str, Warning] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)  # id = position + 1
    audit_links: list[tuple[int, str]] = field(default_factory=list)  # chain position, hash
    audit_head: Head = field(default_factory=Head)
    users: dict[str, User] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)  # by secret hash
    sign_ins: dict[str, SignIn] = field(default_factory=dict)  # by secret hash
    feeds: dict[str, tuple[int, frozenset[int]]] = field(default_factory=dict)  # position, done
    groups: dict[str, AggregationGroup] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    escalations: dict[str, Escalation] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    noticed: set[str] = field(default_factory=set)
    notifications: dict[str, Notification] = field(default_factory=dict)
    public_alerts: dict[str, PublicAlert] = field(default_factory=dict)
    public_alert_entries: dict[str, dict[str, str]] = field(default_factory=dict)
    cap_imports: dict[Key, ImportedAlert] = field(default_factory=dict)
    cap_sources: dict[str, SourceState] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    situation_reports: dict[str, StoredReport] = field(default_factory=dict)
    advisories: dict[tuple[str, str], Advisory] = field(default_factory=dict)
    software: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patches: dict[tuple[str, str], Patch] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    report_updates: dict[str, tuple[ReportUpdate, ...]] = field(default_factory=dict)
    report_photos: dict[str, Photo] = field(default_factory=dict)
    report_contacts: dict[str, SealedContact] = field(default_factory=dict)

    def fork(self) -> MemoryState:
        """A copy whose containers can change without touching this state."""
        copied = {
            f.name: (value.copy() if hasattr(value, "copy") else value)
            for f in fields(self)
            for value in [getattr(self, f.name)]
        }
        return MemoryState(**copied)

"""Ports: incidents, their tasks, the trail read back as timelines and scorecards, and the
situation reports issued about them.

Every write goes with its audit records in the same transaction (services/incidents.py); the
trail is the audit log itself, read here by incident (a timeline) or by period (a scorecard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tocsin.core.access import EVERYTHING, Scope
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.model import Incident
from tocsin.core.incidents.tasks import Task


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents to list (newest first)."""

    open_only: bool = True
    states: tuple[str, ...] = ()
    regions: tuple[str, ...] | None = None  # a region's subtree, expanded by the service
    domain_prefix: str | None = None
    scope: Scope = EVERYTHING  # only incidents whose region and domain the scope holds
    limit: int = 500


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Which tasks to list (most urgent first: the running deadline, then creation)."""

    unit: str | None = None
    open_only: bool = True
    scope: Scope = EVERYTHING  # tasks whose region (their unit's) and domain the scope holds
    limit: int = 500


class IncidentStore(Protocol):
    """Incidents with their links; at most one open incident per key."""

    def get(self, incident_id: str) -> Incident | None:
        """One incident."""

    def by_ids(self, ids: Sequence[str]) -> dict[str, Incident]:
        """Incidents by id (missing ones left out)."""

    def save(self, incidents: Sequence[Incident], *, new: bool) -> None:
        """Insert (new) or update incidents and their links; Conflict if a key would be open
        twice."""

    def open_by_keys(self, keys: Sequence[str]) -> dict[str, Incident]:
        """The open incident of each key (keys without one are left out)."""

    def linked_to(
        self, kind: str, refs: Sequence[str], *, open_only: bool
    ) -> dict[str, list[Incident]]:
        """For each ref (a warning id, a public alert id, …) the incidents linking it."""

    def find(self, query: IncidentFilter) -> list[Incident]:
        """Incidents matching a filter, newest first, at most `query.limit`."""

    def with_prefix(self, prefix: str, *, limit: int) -> list[Incident]:
        """Incidents whose id starts with `prefix`."""


class TaskStore(Protocol):
    """Tasks of incidents, with their reminder schedule."""

    def get(self, task_id: str) -> Task | None:
        """One task."""

    def by_ids(self, ids: Sequence[str]) -> dict[str, Task]:
        """Tasks by id (missing ones left out)."""

    def save(self, tasks: Sequence[Task], *, new: bool) -> None:
        """Insert (new) or update tasks."""

    def of_incidents(self, incident_ids: Sequence[str]) -> dict[str, list[Task]]:
        """Every task of each incident, in creation order."""

    def find(self, query: TaskFilter) -> list[Task]:
        """Tasks matching a filter, most urgent first."""

    def due(self, now: datetime, limit: int) -> list[Task]:
        """Unfinished tasks whose next reminder step is due at `now`, earliest first."""

    def with_prefix(self, prefix: str, *, limit: int) -> list[Task]:
        """Tasks whose id starts with `prefix`."""


class ResponseTrail(Protocol):
    """The audit trail read as the response needs it."""

    def timeline(self, incident_id: str) -> list[AuditRecord]:
        """The records of an incident and of its tasks, oldest first."""

    def between(
        self, start: datetime, end: datetime, *, subject_types: Sequence[str]
    ) -> list[AuditRecord]:
        """The records of these subject types made in [start, end), oldest first."""


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A situation report as issued: what it is about, when, by whom, and its facts."""

    id: str
    subject_kind: str  # "incident" or "region"
    subject_id: str
    created_at: datetime
    created_by: str
    title: str
    facts: dict[str, Any]


class SituationReports(Protocol):
    """Situation reports, kept as the facts they were issued with."""

    def add(self, report: StoredReport) -> None:
        """Store a report (an id already stored is kept as it is)."""

    def get(self, report_id: str) -> StoredReport | None:
        """One report."""

    def find(self, subject_kind: str, subject_id: str, *, limit: int) -> list[StoredReport]:
        """A subject's reports, newest first (without their facts' bulk: `facts` is empty)."""

    def latest(self, subject_kind: str, subject_ids: Sequence[str]) -> dict[str, datetime]:
        """When each subject's newest report was issued."""

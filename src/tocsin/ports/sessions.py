"""Ports: the two kinds of transaction, each a bundle of the per-concept ports above.

A `StoreSession` is one transaction of the foundation store (ingest, rules, people's actions):
its writes happen as they are made and commit together. An `AlertingSession` is one transaction
of the warning pipeline (the dispatcher, silences, delivery): it reads as it goes and performs
its writes together when it ends, so that the pipeline holds a write lock only briefly.
Services reach each concept by its name (`tx.observations`, `tx.warnings`, `tx.outbox`, …).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from tocsin.ports.audit import AuditLog
from tocsin.ports.cap_imports import CapImportStore
from tocsin.ports.catalog import CatalogStore
from tocsin.ports.checkpoints import CheckpointStore
from tocsin.ports.credentials import CredentialStore
from tocsin.ports.escalations import EscalationStore
from tocsin.ports.events import EventStore
from tocsin.ports.exposure import ExposureStore
from tocsin.ports.feed import WarningFeed
from tocsin.ports.groups import GroupStore
from tocsin.ports.incidents import IncidentStore, ResponseTrail, SituationReports, TaskStore
from tocsin.ports.leases import LeaseFence, LeaseStore
from tocsin.ports.observations import ObservationStore
from tocsin.ports.outbox import Outbox, OutboxClaims
from tocsin.ports.public_alerts import PublicAlertStore
from tocsin.ports.reports import ReportStore
from tocsin.ports.retention import RetentionStore
from tocsin.ports.silences import SilenceStore
from tocsin.ports.users import UserStore
from tocsin.ports.warnings import WarningReader, WarningSearch, WarningStore


class StoreSession(Protocol):
    """One transaction of the foundation store, one port per concept."""

    @property
    def observations(self) -> ObservationStore:
        """Observations."""

    @property
    def catalog(self) -> CatalogStore:
        """The stored catalogue."""

    @property
    def checkpoints(self) -> CheckpointStore:
        """Rule state and checkpoints."""

    @property
    def events(self) -> EventStore:
        """Discrete events."""

    @property
    def exposure(self) -> ExposureStore:
        """Advisories, imported software, patches."""

    @property
    def warnings(self) -> WarningStore:
        """Warnings."""

    @property
    def warning_search(self) -> WarningSearch:
        """Queries over many warnings."""

    @property
    def audit(self) -> AuditLog:
        """The audit log."""

    @property
    def users(self) -> UserStore:
        """Users and their password hashes."""

    @property
    def credentials(self) -> CredentialStore:
        """API tokens and sign-ins."""

    @property
    def retention(self) -> RetentionStore:
        """Rows past their retention period."""

    @property
    def leases(self) -> LeaseStore:
        """Leases and the fence on this transaction's writes."""

    @property
    def cap_imports(self) -> CapImportStore:
        """CAP messages read from other agencies, and the sources polled."""

    @property
    def reports(self) -> ReportStore:
        """Public hazard reports."""

    @property
    def outbox(self) -> Outbox:
        """The notification outbox (reporters' updates, written with the step causing them)."""


class Store(Protocol):
    """Transactional storage of the foundation."""

    def transaction(self) -> AbstractContextManager[StoreSession]:
        """A session whose writes commit together or not at all."""


class AlertingSession(Protocol):
    """One transaction of the warning pipeline, one port per concept."""

    @property
    def feed(self) -> WarningFeed:
        """The change feed of warning transitions."""

    @property
    def warnings(self) -> WarningReader:
        """Warnings (read only: the pipeline never changes a warning)."""

    @property
    def audit(self) -> AuditLog:
        """The audit log."""

    @property
    def groups(self) -> GroupStore:
        """Aggregation groups."""

    @property
    def escalations(self) -> EscalationStore:
        """Escalations."""

    @property
    def silences(self) -> SilenceStore:
        """Silences."""

    @property
    def outbox(self) -> Outbox:
        """The notification outbox."""

    @property
    def public_alerts(self) -> PublicAlertStore:
        """Public alerts (CAP messages drafted, approved, published)."""

    @property
    def cap_feed(self) -> WarningFeed:
        """The warning transitions as public alerts follow them (a position of their own)."""

    @property
    def leases(self) -> LeaseFence:
        """The fence on this session's writes."""


class AlertingStore(OutboxClaims, Protocol):
    """Transactional storage of the warning pipeline (and the delivery workers' claims)."""

    def transaction(self) -> AbstractContextManager[AlertingSession]:
        """A session: reads as it goes; its writes commit together at its end, or not at all."""


class ResponseSession(Protocol):
    """One transaction of the response (incidents and tasks): the warning pipeline's kind of
    session (reads as it goes, writes together at its end), with the response's own ports."""

    @property
    def response_feed(self) -> WarningFeed:
        """The change feed of warning transitions, read by the response at its own pace."""

    @property
    def warnings(self) -> WarningReader:
        """Warnings (read only)."""

    @property
    def audit(self) -> AuditLog:
        """The audit log."""

    @property
    def outbox(self) -> Outbox:
        """The notification outbox (tasks to units, reminders, escalations)."""

    @property
    def incidents(self) -> IncidentStore:
        """Incidents."""

    @property
    def tasks(self) -> TaskStore:
        """Tasks."""

    @property
    def response_trail(self) -> ResponseTrail:
        """The audit trail read as timelines and scorecards."""

    @property
    def situation_reports(self) -> SituationReports:
        """Situation reports."""


class ResponseStore(Protocol):
    """Transactional storage of the response (the warning pipeline's store serves it)."""

    def transaction(self) -> AbstractContextManager[ResponseSession]:
        """A session: reads as it goes; its writes commit together at its end, or not at all."""

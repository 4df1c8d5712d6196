"""Ports: the Protocols services need, one module per concept. Adapters implement them.

| module | port(s) | concept |
| --- | --- | --- |
| `observations` | ObservationStore | observation history |
| `catalog` | CatalogStore | regions, domains, indicators, assets, units |
| `checkpoints` | CheckpointStore | rule state, detector checkpoints, stream offsets |
| `stream` | ObservationStream, StreamReader | the ingest stream (API processes to workers) |
| `events` | EventStore | discrete events |
| `exposure` | ExposureStore | advisories, imported software inventories, patches |
| `warnings` | WarningReader, WarningStore, WarningSearch | warnings and queries over them |
| `audit` | AuditLog | the audit trail |
| `users` | UserStore | users and their password hashes |
| `credentials` | CredentialStore | API tokens and sign-ins |
| `retention` | RetentionStore | personal data past its period |
| `feed` | WarningFeed | committed warning transitions, for the dispatcher |
| `groups` | GroupStore | aggregation groups |
| `escalations` | EscalationStore | escalations |
| `silences` | SilenceStore | silences |
| `outbox` | Outbox, OutboxClaims | notifications to deliver |
| `public_alerts` | PublicAlertStore, CapCodec | public alerts (CAP out): drafts to published |
| `cap_imports` | CapImportStore, CapReader, Fetcher | CAP messages read from others |
| `incidents` | IncidentStore, TaskStore, ResponseTrail, SituationReports | the response |
| `report_rendering` | ReportRenderer | situation reports as HTML and PDF |
| `reports` | ReportStore | public hazard reports, their updates, photos, sealed contacts |
| `leases` | LeaseStore, LeaseFence, Ownership | one owner per shared state; fenced writes |
| `sessions` | StoreSession, Store, AlertingSession, AlertingStore, Response… | transactions |
| `bus`, `clock`, `notifiers` | Bus, Clock, Notifier, AsyncNotifier | side effects and time |

A new concept (public alerts, citizen reports) follows the same pattern: a module
here with its Protocol (at most about ten methods), a property on the session that carries it,
one module per store under `adapters/storage/sql/` and `adapters/storage/memory/`, and a
contract test in `tests/adapters/` that runs on all three stores.
"""

from __future__ import annotations

from tocsin.ports.audit import AuditLog
from tocsin.ports.bus import Bus
from tocsin.ports.catalog import CatalogStore
from tocsin.ports.checkpoints import CheckpointStore
from tocsin.ports.clock import Clock
from tocsin.ports.credentials import CredentialStore
from tocsin.ports.escalations import EscalationStore
from tocsin.ports.events import EventStore
from tocsin.ports.exposure import ExposureStore
from tocsin.ports.feed import FeedRow, WarningFeed
from tocsin.ports.groups import GroupStore
from tocsin.ports.incidents import (
    IncidentFilter,
    IncidentStore,
    ResponseTrail,
    SituationReports,
    StoredReport,
    TaskFilter,
    TaskStore,
)
from tocsin.ports.leases import LeaseFence, LeaseStore, Ownership
from tocsin.ports.notifiers import AsyncNotifier, Notifier
from tocsin.ports.observations import ObservationStore
from tocsin.ports.outbox import Outbox, OutboxClaims
from tocsin.ports.report_rendering import ReportRenderer
from tocsin.ports.retention import RetentionStore
from tocsin.ports.sessions import (
    AlertingSession,
    AlertingStore,
    ResponseSession,
    ResponseStore,
    Store,
    StoreSession,
)
from tocsin.ports.silences import SilenceStore
from tocsin.ports.users import UserStore
from tocsin.ports.warnings import WarningFilter, WarningReader, WarningSearch, WarningStore

__all__ = [
    "AlertingSession",
    "AlertingStore",
    "AsyncNotifier",
    "AuditLog",
    "Bus",
    "CatalogStore",
    "CheckpointStore",
    "Clock",
    "CredentialStore",
    "EscalationStore",
    "EventStore",
    "ExposureStore",
    "FeedRow",
    "GroupStore",
    "IncidentFilter",
    "IncidentStore",
    "LeaseFence",
    "LeaseStore",
    "Notifier",
    "ObservationStore",
    "Outbox",
    "OutboxClaims",
    "Ownership",
    "ReportRenderer",
    "ResponseSession",
    "ResponseStore",
    "ResponseTrail",
    "RetentionStore",
    "SilenceStore",
    "SituationReports",
    "Store",
    "StoreSession",
    "StoredReport",
    "TaskFilter",
    "TaskStore",
    "UserStore",
    "WarningFeed",
    "WarningFilter",
    "WarningReader",
    "WarningSearch",
    "WarningStore",
]

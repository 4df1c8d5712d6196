"""Ports: the Protocols services need, one module per concept. Adapters implement them.

| module | port(s) | concept |
| --- | --- | --- |
| `observations` | ObservationStore | observation history |
| `catalog` | CatalogStore | regions, domains, indicators, assets, units |
| `checkpoints` | CheckpointStore | rule state, detector checkpoints |
| `events` | EventStore | discrete events |
| `warnings` | WarningReader, WarningStore, WarningSearch | warnings and queries over them |
| `audit` | AuditLog | the audit trail |
| `users` | UserStore | users and API tokens |
| `feed` | WarningFeed | committed warning transitions, for the dispatcher |
| `groups` | GroupStore | aggregation groups |
| `escalations` | EscalationStore | escalations |
| `silences` | SilenceStore | silences |
| `outbox` | Outbox, OutboxClaims | notifications to deliver |
| `sessions` | StoreSession, Store, AlertingSession, AlertingStore | transactions |
| `bus`, `clock`, `notifiers` | Bus, Clock, Notifier, AsyncNotifier | side effects and time |

A new concept (public alerts, incidents, citizen reports) follows the same pattern: a module
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
from tocsin.ports.escalations import EscalationStore
from tocsin.ports.events import EventStore
from tocsin.ports.feed import FeedRow, WarningFeed
from tocsin.ports.groups import GroupStore
from tocsin.ports.notifiers import AsyncNotifier, Notifier
from tocsin.ports.observations import ObservationStore
from tocsin.ports.outbox import Outbox, OutboxClaims
from tocsin.ports.sessions import AlertingSession, AlertingStore, Store, StoreSession
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
    "EscalationStore",
    "EventStore",
    "FeedRow",
    "GroupStore",
    "Notifier",
    "ObservationStore",
    "Outbox",
    "OutboxClaims",
    "SilenceStore",
    "Store",
    "StoreSession",
    "UserStore",
    "WarningFeed",
    "WarningFilter",
    "WarningReader",
    "WarningSearch",
    "WarningStore",
]

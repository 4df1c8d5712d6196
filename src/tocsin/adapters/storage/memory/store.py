"""MemoryStore: every port in memory; serial transactions on a copy of the state.

One object serves as the foundation store and as the warning pipeline's store (both session
kinds are the same session here). A transaction holds the store's lock from start to end, works
on a fork of the state and replaces the state with it on success: transactions are serial,
reads see the transaction's own writes, and a failed transaction leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from tocsin.adapters.storage.memory.audit import MemoryAuditLog
from tocsin.adapters.storage.memory.cap_imports import MemoryCapImports
from tocsin.adapters.storage.memory.catalog import MemoryCatalog
from tocsin.adapters.storage.memory.checkpoints import MemoryCheckpoints
from tocsin.adapters.storage.memory.credentials import MemoryCredentials
from tocsin.adapters.storage.memory.escalations import MemoryEscalations
from tocsin.adapters.storage.memory.events import MemoryEvents
from tocsin.adapters.storage.memory.exposure import MemoryExposure
from tocsin.adapters.storage.memory.feed import MemoryWarningFeed
from tocsin.adapters.storage.memory.groups import MemoryGroups
from tocsin.adapters.storage.memory.incidents import MemoryIncidents
from tocsin.adapters.storage.memory.leases import MemoryLeases
from tocsin.adapters.storage.memory.observations import MemoryObservations
from tocsin.adapters.storage.memory.outbox import MemoryOutbox
from tocsin.adapters.storage.memory.public_alerts import MemoryPublicAlerts
from tocsin.adapters.storage.memory.reports import MemoryReports
from tocsin.adapters.storage.memory.response_trail import MemoryResponseTrail
from tocsin.adapters.storage.memory.retention import MemoryRetention
from tocsin.adapters.storage.memory.silences import MemorySilences
from tocsin.adapters.storage.memory.situation_reports import MemorySituationReports
from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.adapters.storage.memory.tasks import MemoryTasks
from tocsin.adapters.storage.memory.users import MemoryUsers
from tocsin.adapters.storage.memory.warning_search import MemoryWarningSearch
from tocsin.adapters.storage.memory.warnings import MemoryWarnings
from tocsin.core.warnings.outbox import Attempt, Notification

CAP_FEED = "public_alerts"  # the feed position of public alerts following warnings


@dataclass(frozen=True)
class MemorySession:
    """One transaction: one repository per concept (both session kinds)."""

    observations: MemoryObservations
    catalog: MemoryCatalog
    checkpoints: MemoryCheckpoints
    events: MemoryEvents
    exposure: MemoryExposure
    warnings: MemoryWarnings
    warning_search: MemoryWarningSearch
    audit: MemoryAuditLog
    users: MemoryUsers
    credentials: MemoryCredentials
    retention: MemoryRetention
    feed: MemoryWarningFeed
    groups: MemoryGroups
    escalations: MemoryEscalations
    silences: MemorySilences
    outbox: MemoryOutbox
    public_alerts: MemoryPublicAlerts
    cap_feed: MemoryWarningFeed
    cap_imports: MemoryCapImports
    response_feed: MemoryWarningFeed
    incidents: MemoryIncidents
    tasks: MemoryTasks
    response_trail: MemoryResponseTrail
    situation_reports: MemorySituationReports
    leases: MemoryLeases
    reports: MemoryReports

    @classmethod
    def open(cls, state: MemoryState) -> MemorySession:
        """The repositories of one transaction over `state`."""
        observations = MemoryObservations(state)
        return cls(
            observations=observations,
            catalog=MemoryCatalog(state),
            checkpoints=MemoryCheckpoints(state, observations=observations),
            events=MemoryEvents(state),
            exposure=MemoryExposure(state),
            warnings=MemoryWarnings(state),
            warning_search=MemoryWarningSearch(state),
            audit=MemoryAuditLog(state),
            users=MemoryUsers(state),
            credentials=MemoryCredentials(state),
            retention=MemoryRetention(state),
            feed=MemoryWarningFeed(state),
            groups=MemoryGroups(state),
            escalations=MemoryEscalations(state),
            silences=MemorySilences(state),
            outbox=MemoryOutbox(state),
            public_alerts=MemoryPublicAlerts(state),
            cap_feed=MemoryWarningFeed(state, name=CAP_FEED),
            cap_imports=MemoryCapImports(state),
            response_feed=MemoryWarningFeed(state, name="response"),
            incidents=MemoryIncidents(state),
            tasks=MemoryTasks(state),
            response_trail=MemoryResponseTrail(state),
            situation_reports=MemorySituationReports(state),
            leases=MemoryLeases(state),
            reports=MemoryReports(state),
        )


class MemoryStore:
    """The reference store: Store and AlertingStore in one, nothing on disk."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.lock = threading.RLock()

    def close(self) -> None:
        """Nothing to release."""

    @contextmanager
    def transaction(self) -> Iterator[MemorySession]:
        """A serial transaction on a fork of the state, kept only if it succeeds."""
        with self.lock:
            draft = self.state.fork()
            session = MemorySession.open(draft)
            yield session
            session.leases.enforce(wrote=lambda: draft != self.state)
            self.state = draft

    def claim_notifications(
        self, now: datetime, *, until: datetime, limit: int, channels: Sequence[str] | None = None
    ) -> list[Notification]:
        """Take due pending notifications: next attempt moves to `until`, attempts + 1."""
        with self.transaction() as tx:
            due = tx.outbox.due(now, channels=channels)[:limit]
            claimed = [replace(n, attempts=n.attempts + 1, next_attempt_at=until) for n in due]
            for n in claimed:
                tx.outbox.mark(n.key, Attempt(n.status, n.attempts, until, error=n.last_error))
        return claimed

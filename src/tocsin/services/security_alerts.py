"""Security alerts in: placed on assets, stored once as events, counted into indicators.

A delivery is checked whole first (times within the clock's skew, ids and texts the store can
keep): one bad alert refuses it and nothing is stored. Its alerts are placed on assets by the
hosts they name; the placed ones are stored as events (source `security:<format>`, deduplicated
by the tool's id or a content id) with an audit record, and every asset with an
`alerts_indicator` that the delivery touched gets one observation: at the second of its newest
alert in the delivery, the number of its stored alerts in the minute up to it, through the rules
of the same ingest as every other observation and in the SAME transaction (fenced by the rules'
lease), so threshold rules and detectors watch alert counts like any other indicator and the
events never stand without their counts. Counting from the
store makes a repeated delivery idempotent (the same count at the same second). A delivery whose
newest alert is older than a count already graded is stored but not graded again: rules read an
indicator in time order, as they do every late observation.

In the API role (docs/deployment.md) the workers own the indicators' rules: the events and
their audit record are committed first, then the counts are appended to the ingest stream like
any other observations. A delivery answered 503 because the stream failed has its events
stored; sent again, they are not stored twice and the same counts are appended again, which
the workers take once (an observation is stored once per indicator and time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tocsin.core.access import Placement, Principal, require, require_places
from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.errors import InvalidInput
from tocsin.core.observations import ObservationBatch
from tocsin.core.security_alerts import (
    SecurityAlert,
    address_index,
    alert_problems,
    as_events,
    newest_seconds,
    window_of,
)
from tocsin.core.users import Permission
from tocsin.ports import Clock, Store, StoreSession
from tocsin.services.exposure import CYBER
from tocsin.services.ingest import IngestResult, IngestService

SOURCE_PREFIX = "security:"


class ObservationAppender(Protocol):
    """Where the API role's observations go: the ingest stream (services/stream_intake.py)."""

    def append_group(self, batches: list[ObservationBatch]) -> list[IngestResult]:
        """Append the batches; Unavailable if the stream did not take them all."""


@dataclass(frozen=True, slots=True)
class AlertsReceived:
    """What a delivery did."""

    received: int
    placed: int
    stored: int
    unplaced: int
    observations: int


class SecurityAlertService:
    """Receives security alerts for the configured assets."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        catalog: Catalog,
        ingest: IngestService,
        stream: ObservationAppender | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.ingest = ingest
        self.stream = stream  # the API role: counts go to the workers through the stream
        self.index = address_index(catalog.assets)
        self.indicators = {
            str(code): a.alerts_indicator
            for code, a in catalog.assets.items()
            if a.alerts_indicator is not None
        }

    def receive(self, alerts: Sequence[SecurityAlert], *, principal: Principal) -> AlertsReceived:
        """Store the placed alerts and count them into their assets' indicators, in one
        transaction; InvalidInput naming every bad alert (nothing stored) first, Forbidden when
        a placed alert lies outside the principal's scope (nothing stored)."""
        require(principal, Permission.INGEST)
        now = self.clock.now()
        problems = alert_problems(alerts, now=now, max_ahead=self.ingest.max_ahead)
        if problems:
            raise InvalidInput(problems)
        domain = CYBER if CYBER in self.catalog.domains else None  # else each asset's own
        events, unplaced = as_events(alerts, self.index, domain=domain)
        placed = [(f"alert on {e.asset}", Placement(e.region, e.domain)) for e in events]
        require_places(principal, placed, action="receiving security alerts")
        actor = principal.name
        newest = {a: t for a, t in newest_seconds(events).items() if a in self.indicators}
        stored: list[int] = []

        def store(tx: StoreSession) -> ObservationBatch:
            found = tx.events.insert(events, received_at=now)
            reason = f"{found} new of {len(alerts)} alerts ({unplaced} on no known asset)"
            record = AuditRecord(
                now, actor, "security_alerts.received", "batch", str(found), reason
            )
            tx.audit.append([record])
            stored.append(found)
            return self._counts(tx, newest)

        if newest and self.stream is None:  # the counts go through the rules, in one transaction
            self.ingest.ingest_along(store)
        else:
            with self.store.transaction() as tx:
                counts = store(tx)
            if newest and self.stream is not None:  # Unavailable: a 503, and sent again
                self.stream.append_group([counts])
        return AlertsReceived(len(alerts), len(events), stored[0], unplaced, len(newest))

    def _counts(self, tx: StoreSession, newest: dict[str, int]) -> ObservationBatch:
        """Each counted asset's alerts in the minute up to its newest one, at that second."""
        keys = sorted(newest.items(), key=lambda k: (k[1], k[0]))
        ids = self.ingest.rules.ids
        return ObservationBatch(
            np.array([ids[self.indicators[a]] for a, _ in keys], dtype=np.int64),
            np.array([t for _, t in keys], dtype=np.int64),
            np.array([float(self._count(tx, a, second=t)) for a, t in keys], dtype=np.float64),
        )

    def _count(self, tx: StoreSession, asset: str, *, second: int) -> int:
        since, until = window_of(second)
        found = tx.events.occurrences(
            [asset], source_prefix=SOURCE_PREFIX, since=since, until=until
        )
        return len(found)

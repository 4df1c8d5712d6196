"""Security alerts in: placed on assets, stored once as events, counted into indicators.

A delivery's alerts are placed on assets by the hosts they name; the placed ones are stored as
events (source `security:<format>`, deduplicated by the tool's id or a content id), in one
transaction with an audit record. Then every asset with an `alerts_indicator` that the delivery
touched gets one observation: at the second of its newest alert in the delivery, the number of
its stored alerts in the minute up to it, through the same ingest as every other observation,
so threshold rules and detectors watch alert counts like any other indicator. Counting from the
store makes a repeated delivery idempotent (the same count at the same second). A delivery whose
newest alert is older than a count already graded is stored but not graded again: rules read an
indicator in time order, as they do every late observation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tocsin.core.access import system_principal
from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.security_alerts import (
    SecurityAlert,
    address_index,
    as_events,
    newest_seconds,
    window_of,
)
from tocsin.ports import Clock, Store, StoreSession
from tocsin.services.exposure import CYBER
from tocsin.services.ingest import IngestService, RawObservations

SOURCE_PREFIX = "security:"


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
        self, store: Store, clock: Clock, *, catalog: Catalog, ingest: IngestService
    ) -> None:
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.ingest = ingest
        self.index = address_index(catalog.assets)
        self.indicators = {
            str(code): a.alerts_indicator
            for code, a in catalog.assets.items()
            if a.alerts_indicator is not None
        }

    def receive(self, alerts: Sequence[SecurityAlert], *, actor: str) -> AlertsReceived:
        """Store the placed alerts and count them into their assets' indicators."""
        now = self.clock.now()
        domain = CYBER if CYBER in self.catalog.domains else None  # else each asset's own
        events, unplaced = as_events(alerts, self.index, domain=domain)
        with self.store.transaction() as tx:
            stored = tx.events.insert(events, received_at=now)
            reason = f"{stored} new of {len(alerts)} alerts ({unplaced} on no known asset)"
            tx.audit.append(
                [AuditRecord(now, actor, "security_alerts.received", "batch", str(stored), reason)]
            )
            newest = newest_seconds(events)
            found = {
                (a, t): self._count(tx, a, second=t)
                for a, t in newest.items()
                if a in self.indicators
            }
        observed = self._observe(found)
        return AlertsReceived(len(alerts), len(events), stored, unplaced, observed)

    def _count(self, tx: StoreSession, asset: str, *, second: int) -> int:
        since, until = window_of(second)
        found = tx.events.occurrences(
            [asset], source_prefix=SOURCE_PREFIX, since=since, until=until
        )
        return len(found)

    def _observe(self, found: dict[tuple[str, int], int]) -> int:
        if not found:
            return 0
        keys = sorted(found, key=lambda k: (k[1], k[0]))
        raw = RawObservations(
            codes=[self.indicators[a] for a, _ in keys],
            times=np.array([t for _, t in keys], dtype=np.int64),
            values=np.array([float(found[k]) for k in keys], dtype=np.float64),
        )
        # the counts are the process's own observations of configured assets' indicators
        self.ingest.ingest(
            raw, principal=system_principal("security-alerts"), source="security alerts"
        )
        return len(keys)

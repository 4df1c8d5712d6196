"""Security alerts in: placed on assets, stored once as events, counted into indicators.

A delivery's alerts are placed on assets by the hosts they name; the placed ones are stored as
events (source `security:<format>`, deduplicated by the tool's id or a content id), in one
transaction with an audit record. Then, for every (asset, minute) the delivery touched, the
asset's `alerts_indicator` receives the number of stored alerts of that minute as an
observation, through the same ingest as every other observation, so threshold rules and
detectors watch alert counts like any other indicator. Counting from the store makes a repeated
delivery idempotent: the count of a minute is recomputed, not added to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.security_alerts import (
    BUCKET_S,
    SecurityAlert,
    address_index,
    as_events,
    buckets,
    counts,
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

    def __init__(self, store: Store, clock: Clock, catalog: Catalog, *, ingest: IngestService) -> None:
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
            touched = sorted(b for b in buckets(events) if b[0] in self.indicators)
            found = self._counts(tx, touched)
        observed = self._observe(found)
        return AlertsReceived(len(alerts), len(events), stored, unplaced, observed)

    def _counts(self, tx: StoreSession, touched: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not touched:
            return {}
        start = min(t for _, t in touched)
        end = max(t for _, t in touched) + BUCKET_S
        occurred = tx.events.occurrences(
            sorted({a for a, _ in touched}),
            source_prefix=SOURCE_PREFIX,
            since=datetime.fromtimestamp(start, UTC),
            until=datetime.fromtimestamp(end, UTC),
        )
        all_counts = counts(occurred)
        return {key: all_counts.get(key, 0) for key in touched}

    def _observe(self, found: dict[tuple[str, int], int]) -> int:
        if not found:
            return 0
        keys = sorted(found, key=lambda k: (k[1], k[0]))
        raw = RawObservations(
            codes=[self.indicators[a] for a, _ in keys],  # type: ignore[misc]
            times=np.array([t for _, t in keys], dtype=np.int64),
            values=np.array([float(found[k]) for k in keys], dtype=np.float64),
        )
        self.ingest.ingest(raw, source="security alerts")
        return len(keys)

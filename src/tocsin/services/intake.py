"""Intake: what every source delivered, and the one way a collector delivers observations.

Collectors running in the server (MQTT subscriptions, pulled feeds) hand their rows to
`SourceIntake.deliver`: validated by the ingest service like every other input (as the server
itself, `source:KIND`: the deployment configured them), then queued for the group commit; the
returned future resolves after the commit. Counts per source kind (received, stored, unmapped
with examples, skipped, refused) are kept here for `/metrics` and `GET /api/v1/sources`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np
import numpy.typing as npt

from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput
from tocsin.core.sources import SourceCounts, SourceKind
from tocsin.services.ingest import (
    IngestResult,
    IngestService,
    ObservationCommitter,
    RawObservations,
)


class SourceIntake:
    """Counts per source kind, and delivery for collectors."""

    def __init__(self, ingest: IngestService, committer: ObservationCommitter) -> None:
        self.ingest = ingest
        self.committer = committer
        self.counts = {kind: SourceCounts() for kind in SourceKind}
        self.lock = threading.Lock()

    def deliver(
        self,
        kind: SourceKind,
        codes: Sequence[str],
        times: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        *,
        where: Sequence[str] | None = None,
    ) -> Future[IngestResult]:
        """Validate and queue rows for the group commit; InvalidInput (counted) if refused,
        its problems naming the rows by `where` (`KIND[i]` without it)."""
        try:
            raw = RawObservations(codes, times, values, where=where)
            collector = system_principal(f"source:{kind.value}")
            batch = self.ingest.validate(raw, principal=collector, source=kind.value)
        except InvalidInput:
            self.refused(kind, len(codes))
            raise
        future = self.committer.submit(batch)
        future.add_done_callback(lambda done: self.settled(kind, done, rows=len(codes)))
        return future

    def settled(self, kind: SourceKind, done: Future[IngestResult], *, rows: int) -> None:
        """Count a write once its commit is done (stored) or failed (refused)."""
        with self.lock:
            counts = self.counts[kind]
            if done.exception() is None:
                counts.stored += rows
            else:
                counts.refused += rows

    def refused(self, kind: SourceKind, rows: int) -> None:
        """Count rows of a write that was refused before its commit."""
        with self.lock:
            self.counts[kind].refused += rows

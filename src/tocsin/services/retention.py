"""The retention job: personal data is deleted once its period (docs/data.md) is over.

Finished notifications (addresses, payloads), ended sign-ins and revoked or expired tokens, and
events are deleted after their periods (settings `TOCSIN_RETAIN_*_DAYS`); the run is audited
with its counts. The audit trail itself is kept whole: its records (and the user names of their
actors) are the accountable record of what was done, and deleting one would break the chain.
Users stay until an administrator removes them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from tocsin.core.audit import AuditRecord
from tocsin.ports import Clock, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Periods:
    """How long each kind of personal data is kept."""

    notifications: timedelta = timedelta(days=90)
    sign_ins: timedelta = timedelta(days=90)
    events: timedelta = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run deleted (or, dry, would delete)."""

    notifications: int
    sign_ins_and_tokens: int
    events: int
    dry_run: bool

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class RetentionService:
    """Deletes what is past its period, in one audited transaction."""

    store: Store
    clock: Clock
    periods: Periods = Periods()

    def run(self, *, dry_run: bool = False) -> RetentionRun:
        """Delete (or count) everything past its period now."""
        now = self.clock.now()
        p = self.periods
        with self.store.transaction() as tx:
            notes = tx.retention.notifications(before=now - p.notifications, delete=not dry_run)
            events = tx.retention.events(before=now - p.events, delete=not dry_run)
            ended = 0 if dry_run else tx.credentials.forget(before=now - p.sign_ins)
            done = RetentionRun(notes, ended, events, dry_run)
            if not dry_run and (notes or ended or events):
                why = "past the retention period"
                details = done.as_json()
                record = AuditRecord(
                    now, "system:retention", "retention.run", "data", "retention", why, details
                )
                tx.audit.append([record])
        return done


class RetentionWorker:
    """Runs the retention job every `interval` in a daemon thread until stopped."""

    def __init__(self, service: RetentionService, *, interval: timedelta) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (the first run at once)."""
        self._thread = threading.Thread(target=self._loop, name="tocsin-retention", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.service.run()
                log.info("retention run", extra=done.as_json())
            except Exception:  # the worker's outermost loop: log, and try at the next interval
                log.exception("retention run failed")
            self._stop.wait(self.interval.total_seconds())

    def stop(self) -> None:
        """Stop the loop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

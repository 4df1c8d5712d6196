"""Delivery: the outbox's notifications handed to their channels, at least once.

`DeliveryWorker.run_once(now)` claims due outbox rows, hands each to its channel's notifier and
marks it delivered or schedules a retry with backoff. Semantics: at least once, with an
idempotency key per notification that the receiver sees (webhook header `Idempotency-Key`,
e-mail header `X-Tocsin-Idempotency-Key`); see docs/warnings.md.

`Handoff` is the in-process short cut from the dispatcher to this process's worker: while a
worker listens, notifications for its channels are written to the outbox already claimed (for
the worker's lease) and handed over right after the dispatcher's transaction commits. If the
process dies first, the lease runs out and any worker sends them from the outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, replace
from datetime import datetime, timedelta

from tocsin.core.warnings.outbox import (
    Attempt,
    Channel,
    DeliveryError,
    DeliveryStatus,
    Notification,
    attempt_outcome,
)
from tocsin.ports import AlertingStore, Clock, Notifier

log = logging.getLogger(__name__)

Sent = tuple[str, Attempt]  # a notification's key and the outcome of sending it


class Handoff:
    """Notifications passed from the dispatcher to this process's delivery worker."""

    def __init__(
        self, channels: Collection[Channel] = (), *, lease: timedelta = timedelta(seconds=30)
    ) -> None:
        self.channels = frozenset(channels)
        self.lease = lease
        self.ready = threading.Event()  # set when there is work for the worker
        self._lock = threading.Lock()
        self._queue: list[Notification] = []
        self._listening = False

    def listen(self) -> Callable[[], None]:
        """Start taking hand-offs (a worker of this process runs); return a function that stops."""
        with self._lock:
            self._listening = True

        def stop() -> None:
            with self._lock:
                self._listening = False

        return stop

    def prepare(
        self, notes: Sequence[Notification], now: datetime
    ) -> tuple[list[Notification], list[Notification]]:
        """The notifications to write (those to hand off pre-claimed until now + lease) and
        those to hand off once the transaction that writes them has committed."""
        with self._lock:
            listening = self._listening
        if not listening:
            return list(notes), []
        until = now + self.lease
        written = [
            replace(n, attempts=1, next_attempt_at=until) if n.channel in self.channels else n
            for n in notes
        ]
        return written, [n for n in written if n.channel in self.channels]

    def put(self, notes: Sequence[Notification]) -> None:
        """Queue committed, claimed notifications for the worker and wake it."""
        if not notes:
            return
        with self._lock:
            self._queue.extend(notes)
        self.wake()

    def take(self) -> list[Notification]:
        """Everything queued (emptying the queue)."""
        with self._lock:
            taken, self._queue = self._queue, []
        return taken

    def wake(self) -> None:
        """Tell the worker the outbox has new rows."""
        self.ready.set()


@dataclass
class DeliveryReport:
    """What one delivery round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def count(self, status: DeliveryStatus) -> None:
        """Count one outcome (pending again means it will be retried)."""
        if status is DeliveryStatus.DELIVERED:
            self.delivered += 1
        elif status is DeliveryStatus.FAILED:
            self.failed += 1
        else:
            self.retried += 1


@dataclass(frozen=True)
class DeliveryWorker:
    """Sends due outbox notifications through their channel's notifier."""

    store: AlertingStore
    notifiers: Mapping[Channel, Notifier]
    _: KW_ONLY
    lease: timedelta = timedelta(seconds=30)
    batch: int = 50
    clock: Clock | None = None
    record_each: bool = True

    def run_once(self, now: datetime) -> DeliveryReport:
        """Claim due notifications (for `lease`), send each, record the outcomes.

        Outcomes are recorded after each send (`record_each`, the default), so a crash can
        re-send, under the same idempotency key, at most the one notification that was being
        handed to a channel; with `record_each=False` they are recorded together after the
        round (one short write, faster), and a crash can re-send the whole round."""
        claimed = self.store.claim_notifications(
            now,
            until=now + self.lease,
            limit=self.batch,
            channels=[c.value for c in self.notifiers],  # others wait for a worker that has them
        )
        return self.deliver_claimed(claimed, now)

    def deliver_claimed(self, claimed: Sequence[Notification], now: datetime) -> DeliveryReport:
        """Send notifications already claimed for this worker (the dispatcher's hand-off)."""
        report = DeliveryReport()
        sent: list[Sent] = []
        for note in claimed:
            sent.append(self._send(note, now))
            if self.record_each:
                self._record(sent, report)
                sent = []
        self._record(sent, report)
        return report

    def _send(self, note: Notification, now: datetime) -> Sent:
        """Hand one notification to its channel; the outcome to record."""
        notifier = self.notifiers.get(note.channel)
        error: str | None = None
        retryable = True
        try:
            if notifier is None:
                raise DeliveryError(
                    f"no notifier for channel {note.channel.value}", retryable=False
                )
            notifier.send(note)
        except DeliveryError as err:
            error, retryable = str(err), err.retryable
        except Exception as err:  # the outermost worker boundary: log, count, back off
            log.exception("notifier crashed", extra={"key": note.key})
            error = f"{type(err).__name__}: {err}"
        done_at = self.clock.now() if self.clock is not None else now
        outcome = attempt_outcome(note, error=error, retryable=retryable, now=now, done_at=done_at)
        return note.key, outcome

    def _record(self, sent: Sequence[Sent], report: DeliveryReport) -> None:
        if not sent:
            return
        with self.store.transaction() as tx:
            for key, attempt in sent:
                tx.outbox.mark(key, attempt)
                report.count(attempt.status)

"""Delivery: the outbox's notifications handed to their channels, at least once.

`DeliveryWorker.run_once(now)` claims due outbox rows (one statement) and sends them, many at
once, from an event loop of its own: webhooks wait for their receivers on the loop
(`AsyncNotifier`), other channels in a few threads. Each address is paced by its limits
(`core/warnings/pacing.py`: requests at once, a rate, and a hold after a retryable failure for
the receiver's `Retry-After` or the back-off); a notification whose address is held, or paced
past the round, is handed back to the outbox unsent (its attempt not counted) for a later round.

Semantics: at least once, with an idempotency key per notification that the receiver sees
(webhook header `Idempotency-Key`, e-mail header `X-Tocsin-Idempotency-Key`); see
docs/warnings.md. Each outcome is recorded as soon as its send returns — the outcomes of sends
that return together are group-committed (commit_queue.py) — and the send counts as finished
only once its outcome is stored. So a crash can send again, under the same keys, only the
notifications that were out at that moment (at most `concurrency`).

`Handoff` is the in-process short cut from the dispatcher to this process's worker: while a
worker listens, notifications for its channels are written to the outbox already claimed (for
the worker's lease) and handed over right after the dispatcher's transaction commits. If the
process dies first, the lease runs out and any worker sends them from the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tocsin.core.warnings.outbox import (
    Attempt,
    Channel,
    DeliveryError,
    DeliveryStatus,
    Notification,
    attempt_outcome,
    backoff,
    not_attempted,
)
from tocsin.core.warnings.pacing import (
    DEFAULT_PACE,
    IN_ORDER,
    Admission,
    Lane,
    PaceLimits,
    admit,
    returned,
)
from tocsin.ports import AlertingStore, AsyncNotifier, Clock, Notifier
from tocsin.services.commit_queue import GroupCommit

log = logging.getLogger(__name__)

Sent = tuple[str, Attempt]  # a notification's key and the outcome of sending it
PACE_WAIT = timedelta(milliseconds=500)  # a round waits this long at most for a paced address
T = TypeVar("T")


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

    def take(self, now: datetime | None = None) -> list[Notification]:
        """Everything queued (emptying the queue); given `now`, only what is still claimed for
        this worker: a row whose lease ran out while it waited in the queue (a storm's backlog)
        belongs to whichever worker claims it next, and sending it from here too would send it
        twice."""
        with self._lock:
            taken, self._queue = self._queue, []
        if now is None:
            return taken
        return [n for n in taken if n.next_attempt_at is None or n.next_attempt_at > now]

    def wake(self) -> None:
        """Tell the worker the outbox has new rows."""
        self.ready.set()


@dataclass
class DeliveryReport:
    """What one delivery round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # handed back unsent: the address was held or paced

    def count(self, status: DeliveryStatus) -> None:
        """Count one outcome (pending again means it will be retried)."""
        if status is DeliveryStatus.DELIVERED:
            self.delivered += 1
        elif status is DeliveryStatus.FAILED:
            self.failed += 1
        else:
            self.retried += 1

    @property
    def handled(self) -> int:
        """Notifications this round took out of the outbox's due list."""
        return self.delivered + self.retried + self.failed + self.deferred


@dataclass
class _Round:
    """One round's notifications queued per address (in the order given), and what is out."""

    waiting: dict[str, deque[Notification]]
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    out: int = 0
    report: DeliveryReport = field(default_factory=DeliveryReport)

    @classmethod
    def of(cls, notes: Sequence[Notification]) -> _Round:
        waiting: dict[str, deque[Notification]] = {}
        for note in notes:
            waiting.setdefault(note.address, deque()).append(note)
        return cls(waiting)


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when installed (it spends about half the CPU per send), else
    asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _LoopThread:
    """An event loop running in a daemon thread of its own."""

    def __init__(self) -> None:
        self.loop = _new_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="tocsin-delivery-loop", daemon=True
        )
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop; wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        """Stop and close the loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class DeliveryWorker:
    """Sends due outbox notifications through their channels' notifiers, many at once."""

    def __init__(
        self,
        store: AlertingStore,
        notifiers: Mapping[Channel, Notifier],
        *,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 2000,
        clock: Clock | None = None,
        concurrency: int = 128,
        pacing: Mapping[str, PaceLimits] | None = None,
        default_pace: PaceLimits = DEFAULT_PACE,
        threads: int = 4,
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.lease = lease
        self.batch = batch
        self.clock = clock
        self.concurrency = max(concurrency, 1)
        self.pacing = dict(pacing or {})
        self.default_pace = default_pace
        self.threads = threads  # for channels that send only from a thread (e-mail, files)
        self.lanes: dict[str, Lane] = {}  # per address, kept across rounds
        self._on_loop = {c: n for c, n in notifiers.items() if isinstance(n, AsyncNotifier)}
        self._recorder: GroupCommit[Sequence[Sent], None] = GroupCommit(self._record)
        self._lock = threading.Lock()
        self._loop: _LoopThread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def run_once(self, now: datetime) -> DeliveryReport:
        """Claim due notifications (for `lease`), send them, record each outcome."""
        claimed = self.store.claim_notifications(
            now,
            until=now + self.lease,
            limit=self.batch,
            channels=[c.value for c in self.notifiers],  # others wait for a worker that has them
        )
        return self.deliver_claimed(claimed, now)

    def deliver_claimed(self, claimed: Sequence[Notification], now: datetime) -> DeliveryReport:
        """Send notifications already claimed for this worker (also the dispatcher's hand-off):
        as many at once as pacing allows; return when each is recorded or handed back."""
        if not claimed:
            return DeliveryReport()
        return self._event_loop().run(self._round(claimed, now))

    def close(self) -> None:
        """Release the channels' connections; stop the loop and the threads."""
        with self._lock:
            loop, pool, self._loop, self._pool = self._loop, self._pool, None, None
        if loop is not None:
            loop.run(self._close_channels())
            loop.stop()
        if pool is not None:
            pool.shutdown(wait=True)
        self._recorder.close()

    # -- one round (on the event loop) -----------------------------------------------------------
    async def _round(self, claimed: Sequence[Notification], now: datetime) -> DeliveryReport:
        work = _Round.of(claimed)
        while work.waiting or work.out:
            retry_at = await self._start_sends(work, now)
            if work.out:
                work.changed.clear()
                try:
                    async with asyncio.timeout(self._wait_for(retry_at)):
                        await work.changed.wait()
                except TimeoutError:
                    pass
            elif work.waiting:  # only paced addresses are left, nothing out
                await self._hand_back(work, list(work.waiting), until=retry_at or now)
        return work.report

    async def _start_sends(self, work: _Round, now: datetime) -> datetime | None:
        """Start what pacing admits now; hand back what is held (or paced too long); return
        the earliest moment a paced address may take more."""
        at = self._now(now)
        earliest: datetime | None = None
        for address in list(work.waiting):
            notes = work.waiting[address]
            limits = self._limits(address, notes[0].channel)
            while notes and work.out < self.concurrency:
                decision = admit(self.lanes.get(address, Lane()), limits, at)
                self.lanes[address] = decision.lane
                if decision.admission is Admission.SEND:
                    work.out += 1
                    asyncio.get_running_loop().create_task(
                        self._send_and_record(notes.popleft(), now, work)
                    )
                    continue
                retry_at = decision.retry_at
                if retry_at is not None:  # held, or paced
                    if decision.admission is Admission.HELD or retry_at - at > PACE_WAIT:
                        await self._hand_back(work, [address], until=retry_at)
                    else:
                        earliest = retry_at if earliest is None else min(earliest, retry_at)
                break
            if not notes:
                work.waiting.pop(address, None)
        return earliest

    def _limits(self, address: str, channel: Channel) -> PaceLimits:
        """The address's configured pacing; a reporter's updates one at a time, in order."""
        if address in self.pacing:
            return self.pacing[address]
        return IN_ORDER if channel is Channel.REPORTER else self.default_pace

    async def _hand_back(
        self, work: _Round, addresses: Collection[str], *, until: datetime
    ) -> None:
        """Give the unsent notifications of these addresses back to the outbox, due `until`."""
        notes = [n for a in addresses for n in work.waiting.pop(a, ())]
        if notes:
            await self._recorder.submit_async(
                [(n.key, not_attempted(n, until=until)) for n in notes]
            )
            work.report.deferred += len(notes)

    def _wait_for(self, retry_at: datetime | None) -> float | None:
        if retry_at is None:
            return None
        return max((retry_at - self._now(retry_at)).total_seconds(), 0.001)

    # -- one send ----------------------------------------------------------------------------------
    async def _send_and_record(self, note: Notification, now: datetime, work: _Round) -> None:
        hold_until: datetime | None = None
        try:
            attempt, retry_after = await self._send(note, now)
            if attempt.status is DeliveryStatus.PENDING:  # retryable: hold the address
                hold_until = self._now(now) + (retry_after or backoff(note.key, note.attempts))
            await self._recorder.submit_async([(note.key, attempt)])
        except Exception:  # the store failed: the lease runs out and the row is sent again
            log.exception("recording a delivery failed", extra={"key": note.key})
            attempt = Attempt(DeliveryStatus.PENDING, note.attempts, note.next_attempt_at)
        work.out -= 1
        work.report.count(attempt.status)
        lane = self.lanes.get(note.address, Lane())
        self.lanes[note.address] = returned(lane, hold_until=hold_until)
        work.changed.set()

    async def _send(self, note: Notification, now: datetime) -> tuple[Attempt, timedelta | None]:
        """Hand one notification to its channel; the outcome to record and the receiver's
        `Retry-After`."""
        notifier = self.notifiers.get(note.channel)
        on_loop = self._on_loop.get(note.channel)
        error: str | None = None
        retryable = True
        retry_after: timedelta | None = None
        try:
            if notifier is None:
                raise DeliveryError(
                    f"no notifier for channel {note.channel.value}", retryable=False
                )
            if on_loop is not None:
                await on_loop.send_async(note)
            else:
                await asyncio.get_running_loop().run_in_executor(
                    self._threads(), notifier.send, note
                )
        except DeliveryError as err:
            error, retryable, retry_after = str(err), err.retryable, err.retry_after
        except Exception as err:  # the outermost sending boundary: log, count, back off
            log.exception("notifier crashed", extra={"key": note.key})
            error = f"{type(err).__name__}: {err}"
        outcome = attempt_outcome(
            note,
            error=error,
            retryable=retryable,
            now=now,
            done_at=self._now(now),
            retry_after=retry_after,
        )
        return outcome, retry_after

    def _record(self, groups: Sequence[Sequence[Sent]]) -> list[None]:
        """Store the outcomes of sends that came back together, in one transaction."""
        with self.store.transaction() as tx:
            for sent in groups:
                for key, attempt in sent:
                    tx.outbox.mark(key, attempt)
        return [None] * len(groups)

    async def _close_channels(self) -> None:
        for notifier in self._on_loop.values():
            await notifier.aclose()

    def _now(self, fallback: datetime) -> datetime:
        return self.clock.now() if self.clock is not None else max(fallback, datetime.now(UTC))

    def _event_loop(self) -> _LoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()
            return self._loop

    def _threads(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="tocsin-send")
            return self._pool

"""The background loops of a serving process: the lease keeper, the dispatcher, the delivery
worker, the public alerts' follower and importer, and the responder.

`start_background(container)` starts daemon threads and returns a function that stops them
(and gives this process's leases up, so that a standby takes over at once):

- the lease keeper claims the rules and dispatch leases every third of their time: it renews
  what this process holds, and takes a lease over once its holder stopped renewing
  (services/leadership.py); only the holder of the dispatch lease dispatches and delivers;
- the dispatcher ticks when a warning transition is published on the bus (after commit), when
  the next group or escalation step falls due (a group's wait or interval: it sleeps until
  then, not a whole interval), and at least every `dispatch_interval_s` for the other timers
  (silence expiry);
- the delivery worker listens on the container's hand-off: it sends what the dispatcher handed
  over right after its commit, and runs a round when woken (new outbox rows) and at least every
  `dispatch_interval_s` for retries.
- public alerts follow their warnings (updates, cancels, auto-publication) when a warning
  transition is published and at least every `dispatch_interval_s`; CAP sources are polled
  (each at its own interval) and imported messages past their expiry end, every
  `cap_poll_interval_s`;
- the responder (`Responder.tick`: emergency plans on warning transitions, overdue tasks'
  reminders and escalations, scheduled situation reports) ticks with the dispatcher's wake-ups
  and interval;
- the retention loop deletes reporters' contacts past their retention at start and hourly.

These three work only in the process that holds the dispatch lease, like the dispatcher.

Only these outermost loops catch every exception: they back off, log once per change of state
(failing, failing for another reason, recovered), and carry on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import Unavailable
from tocsin.ports import Clock, Store
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher
from tocsin.services.leadership import Leadership, ProcessLeases
from tocsin.services.public_alert_follower import PublicAlertFollower
from tocsin.services.responder import Responder

if TYPE_CHECKING:
    from tocsin.services.cap_imports import CapImportService
from tocsin.services.report_deadlines import ReportOverdue
from tocsin.services.reports import ReportService

log = logging.getLogger(__name__)
RETENTION_INTERVAL_S = 3_600.0

MAX_BACKOFF_S = 30.0
SOONEST_S = 0.2  # a loop that sleeps until its next due work sleeps at least this long


class _Listenable(Protocol):
    def listen(self, listener: Callable[[str, Mapping[str, Any]], None]) -> Callable[[], None]:
        """Register a bus listener."""


class _Cap(Protocol):
    @property
    def follower(self) -> PublicAlertFollower:
        """Public alerts following warnings."""

    @property
    def imports(self) -> CapImportService:
        """CAP imports."""


class _Responding(Protocol):
    @property
    def responder(self) -> Responder:
        """The responder."""


class _Wired(Protocol):
    """The part of the container the loops need."""

    @property
    def dispatcher(self) -> Dispatcher:
        """The dispatcher."""

    @property
    def delivery(self) -> DeliveryWorker:
        """The delivery worker."""

    @property
    def handoff(self) -> Handoff:
        """The dispatcher's hand-off to this process's delivery worker."""

    @property
    def clock(self) -> Clock:
        """The clock."""

    @property
    def store(self) -> Store:
        """The main store (the audit chain's head, for the feed watcher)."""

    @property
    def settings(self) -> Settings:
        """Process settings (background_workers, dispatch_interval_s)."""

    @property
    def bus(self) -> _Listenable:
        """The in-process bus."""

    @property
    def leases(self) -> ProcessLeases:
        """The leases this process may hold."""

    @property
    def cap(self) -> _Cap:
        """Public alerts."""

    @property
    def response(self) -> _Responding:
        """The response (its responder)."""

    @property
    def report_overdue(self) -> ReportOverdue:
        """Reminders and escalation of overdue reports."""

    @property
    def reports(self) -> ReportService:
        """Public reports (their contacts are deleted on schedule)."""


class _Loop:
    """A thread that runs `work` when woken and at least every `interval` seconds.

    A failing round is retried after a doubling wait (up to `MAX_BACKOFF_S`). The log says so
    once when the loop starts failing and once when it recovers: a fault that lasts an hour is
    two lines, not thousands. A fault of the environment (`Unavailable`: full disk, read-only
    database, unreachable server) is one sentence; anything else is a bug and keeps its
    traceback (once per distinct error)."""

    def __init__(
        self,
        name: str,
        work: Callable[[], bool],
        *,
        interval: float,
        wake: threading.Event | None = None,
        until: Callable[[], float | None] | None = None,
    ) -> None:
        self.wake = wake or threading.Event()
        self.stopping = threading.Event()
        self.work = work
        self.interval = interval
        self.until = until  # seconds until the next due work, if the loop can tell
        self.failing: str | None = None  # the reason of the current run of failures
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self._wait())
            self.wake.clear()
            if self.stopping.is_set():
                return
            try:
                while self.work() and not self.stopping.is_set():
                    pass
            except Exception as err:
                self._failed(err)
            else:
                self._succeeded()

    def _wait(self) -> float:
        backoff = self.interval * 2.0 ** min(self.failures, 10)
        if self.failures or self.until is None:
            return min(backoff, max(MAX_BACKOFF_S, self.interval))
        try:
            due = self.until()
        except Exception:  # the next round's own failure is what gets logged
            due = None
        return self.interval if due is None else min(self.interval, max(due, SOONEST_S))

    def _failed(self, err: Exception) -> None:
        self.failures += 1
        fault = isinstance(err, Unavailable)
        reason = "unavailable" if fault else f"{type(err).__name__}: {err}"
        if reason == self.failing or (fault and self.failing is not None):
            return  # a fault is said once until it is gone; a bug once per distinct error
        self.failing = reason
        extra = {"loop": self.thread.name, "retry_in_s": round(self._wait(), 1)}
        if fault:
            log.warning("background loop paused: %s", err, extra=extra)
        else:
            log.error("background loop failed", exc_info=err, extra=extra)

    def _succeeded(self) -> None:
        if self.failing is not None:
            log.warning(
                "background loop recovered",
                extra={"loop": self.thread.name, "failed_rounds": self.failures},
            )
        self.failing, self.failures = None, 0

    def start(self) -> None:
        """Start the thread, with a first round at once."""
        self.thread.start()
        self.wake.set()

    def stop(self) -> None:
        """Ask the loop to end and wait for it (up to 10 s)."""
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=10)


def keep_leases(leadership: Sequence[Leadership], *, interval: float) -> Callable[[], None]:
    """Claim (or renew) each lease now and every `interval` seconds in a thread; return a
    function that stops it. A process holding a lease renews it; a standby takes it over once
    its holder stops renewing."""

    def claim() -> bool:
        for lease in leadership:
            lease.claim()
        return False

    loop = _Loop("tocsin-leases", claim, interval=interval)
    loop.start()
    return loop.stop


def keep_renewing(
    held: Callable[[], Sequence[Leadership]], *, interval: float
) -> Callable[[], None]:
    """Renew the leases `held()` names every `interval` seconds in a thread, never taking one
    this process gave up (a worker's partitions, which move to other workers); return a
    function that stops it."""

    def renew() -> bool:
        for lease in held():
            lease.renew()
        return False

    loop = _Loop("tocsin-leases", renew, interval=interval)
    loop.start()
    return loop.stop


def watch_feed(store: Store, loops: Sequence[_Loop], *, every: float) -> _Loop:
    """A loop that wakes `loops` when the audit chain's head moved: warning transitions
    committed by another process (a `serve` beside `notify run`), whose bus this process does
    not hear. One row read by key every `every` seconds, so the loops need not poll the
    feeds themselves that often."""
    seen: list[int] = []

    def look() -> bool:
        with store.transaction() as tx:
            seq = tx.audit.head().seq
        if seen != [seq]:
            seen[:] = [seq]
            for loop in loops:
                loop.wake.set()
        return False

    return _Loop("tocsin-feed-watch", look, interval=every)


def start_background(
    container: _Wired,
    *,
    interval: float | None = None,
    watch: float | None = None,
    delivering: bool = True,
) -> Callable[[], None]:
    """Start the lease keeper and the dispatcher and delivery loops; return a function that
    stops them and gives the leases up. With `watch` (seconds), a watcher wakes the loops
    that follow warning transitions as soon as another process has committed some.

    The dispatcher and delivery loops work only while this process holds the dispatch lease
    (a standby keeps trying to take it over). They do not start when
    `settings.background_workers` is false (a separate `tocsin notify run` process does the
    work); the rules lease is kept either way, as this process ingests. With `delivering` false
    this process dispatches only: it writes the outbox's rows unclaimed, and processes started
    with `start_delivery` send them."""
    leases, settings = container.leases, container.settings
    keep_every = leases.ttl.total_seconds() / 3
    if not settings.background_workers:
        stop_keeping = keep_leases([leases.rules], interval=keep_every)

        def stop_rules() -> None:
            stop_keeping()
            leases.release()

        return stop_rules
    interval = interval or settings.dispatch_interval_s
    dispatcher, delivery, clock = container.dispatcher, container.delivery, container.clock
    handoff = container.handoff
    owner = leases.dispatch

    def deliver() -> bool:
        if not owner.holds():
            return False
        handed = handoff.take(clock.now())
        if handed:
            delivery.deliver_claimed(handed, clock.now())
        report = delivery.run_once(clock.now())
        return report.handled >= delivery.batch

    def dispatch() -> bool:
        if owner.holds():
            dispatcher.tick(clock.now())
        return False

    def delete_contacts() -> bool:
        container.reports.delete_due_contacts()
        return False

    delivery_loop = _Loop("tocsin-delivery", deliver, interval=interval, wake=handoff.ready)

    def next_flush() -> float | None:
        due = dispatcher.next_due() if owner.holds() else None
        return None if due is None else (due - clock.now()).total_seconds()

    dispatch_loop = _Loop("tocsin-dispatch", dispatch, interval=interval, until=next_flush)
    followers = _followers(container, interval=interval)
    retention_loop = _Loop("tocsin-retention", delete_contacts, interval=RETENTION_INTERVAL_S)
    loops: tuple[_Loop, ...] = (dispatch_loop, *followers, retention_loop)
    if delivering:
        loops = (delivery_loop, *loops)
    if watch is not None:
        loops += (watch_feed(container.store, (dispatch_loop, *followers), every=watch),)

    def on_message(topic: str, _payload: Mapping[str, Any]) -> None:
        if topic == "warnings":
            for loop in (dispatch_loop, *followers):
                loop.wake.set()

    def resume(_lease: object) -> None:
        for loop in loops:
            loop.wake.set()

    owner.on_gain = resume
    stop_listening = handoff.listen() if delivering else (lambda: None)
    unlisten = container.bus.listen(on_message)
    for loop in loops:
        loop.start()
    stop_keeping = keep_leases(leases.all(), interval=keep_every)

    def stop() -> None:
        stop_keeping()
        unlisten()
        stop_listening()
        for loop in reversed(loops):
            loop.stop()
        leases.release()

    return stop


def start_delivery(container: _Wired, *, interval: float) -> Callable[[], None]:
    """Start a delivery loop alone (no lease: the outbox's rows are claimed one by one, with
    `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several such processes share the work); it
    looks for due notifications every `interval` seconds, and at once again while a round
    filled its batch. Returns a function that stops it."""
    delivery, clock = container.delivery, container.clock

    def deliver() -> bool:
        report = delivery.run_once(clock.now())
        return report.handled >= delivery.batch

    loop = _Loop("tocsin-delivery", deliver, interval=interval)
    loop.start()
    return loop.stop


def _followers(container: _Wired, *, interval: float) -> tuple[_Loop, ...]:
    """The loops that follow warning transitions in the dispatch owner: public alerts, CAP
    imports, the response."""
    cap, responder, clock = container.cap, container.response.responder, container.clock
    overdue = container.report_overdue
    owner = container.leases.dispatch
    importer = system_principal("cap-import")

    def follow() -> bool:
        if owner.holds():
            cap.follower.tick(clock.now())
        return False

    def read_sources() -> bool:
        if owner.holds():
            cap.imports.poll_due(principal=importer)
            cap.imports.expire()
        return False

    def respond() -> bool:
        if owner.holds():
            responder.tick(clock.now())
            overdue.tick()  # public reports past their deadlines, as for tasks
        return False

    every = container.settings.cap_poll_interval_s
    return (
        _Loop("tocsin-public-alerts", follow, interval=interval),
        _Loop("tocsin-cap-import", read_sources, interval=every),
        _Loop("tocsin-respond", respond, interval=interval),
    )

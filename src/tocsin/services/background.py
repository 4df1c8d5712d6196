"""The background loops of a serving process: the lease keeper, the dispatcher, the delivery
worker, and the scheduler's timers (the public alerts' follower and importer, the responder,
report deadlines, retention).

`start_background(container)` starts daemon threads and returns a function that stops them
(and gives this process's leases up, so that a standby takes over at once):

- the lease keeper claims the leases of the work this process does every third of their time
  (the rules lease too when it ingests): it renews what this process holds, and takes a lease
  over once its holder stopped renewing (services/leadership.py); only the holder of the
  dispatch lease dispatches and delivers, only the holder of the schedule lease runs the timers;
- the dispatcher ticks when a warning transition is published on the bus (after commit), when
  the next group or escalation step falls due (a group's wait or interval: it sleeps until
  then, not a whole interval), and at least every `dispatch_interval_s` for the other timers
  (silence expiry);
- the delivery worker listens on the container's hand-off: it sends what the dispatcher handed
  over right after its commit, and runs a round when woken (new outbox rows) and at least every
  `dispatch_interval_s` for retries.

The process that receives posts (the holder of the rules lease, with or without background
workers) lifts Prometheus alerts not posted again before their endsAt (or the resolve timeout),
every `EXPIRY_INTERVAL` (5 s), their spans counted from when it took the lease at the earliest
(services/alert_receiver.py). In the API role (`TOCSIN_ROLE=api`) every API process receives
posts and none holds the rules lease: the holder of the schedule lease lifts them instead.

The scheduler's loops (`Work.SCHEDULE`, under the schedule lease):

- public alerts follow their warnings (updates, cancels, auto-publication) when a warning
  transition is published and at least every `dispatch_interval_s`;
- CAP sources are polled (each at its own interval) and imported messages past their expiry
  end, every `cap_poll_interval_s` (a timer only: a warning transition gives it nothing to do);
- the responder (`Responder.tick`: emergency plans on warning transitions, overdue tasks'
  reminders and escalations, scheduled situation reports, overdue public reports) ticks with
  the dispatcher's wake-ups and interval;
- the two followers of warning transitions start a round at most every `FOLLOW_GAP_S`
  (0.25 s): the wake-ups of a stream of commits within it are taken by one round;
- the retention loops delete reporters' contacts past their retention hourly, and summarise
  and delete observations past theirs every `TOCSIN_RETENTION_INTERVAL_H` (docs/retention.md),
  each at once when this process takes the lease.

Only these outermost loops catch every exception: they back off, log once per change of state
(failing, failing for another reason, recovered), and carry on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.audit import WARNING_SUBJECT
from tocsin.core.errors import InvalidInput, Problem, Unavailable
from tocsin.ports import Clock, Store
from tocsin.services.alert_receiver import EXPIRY_INTERVAL, AlertReceiverService
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher
from tocsin.services.leadership import Leadership, ProcessLeases
from tocsin.services.public_alert_follower import PublicAlertFollower
from tocsin.services.responder import Responder

if TYPE_CHECKING:
    from tocsin.services.cap_imports import CapImportService
from tocsin.services.report_deadlines import ReportOverdue
from tocsin.services.reports import ReportService
from tocsin.services.retention import RetentionService

log = logging.getLogger(__name__)
RETENTION_INTERVAL_S = 3_600.0

MAX_BACKOFF_S = 30.0
SOONEST_S = 0.2  # a loop that sleeps until its next due work sleeps at least this long
# The followers (response, public alerts) start a round at most this often: the wake-ups of a
# stream of commits that land within it are taken by one round. Each round reads its feed and
# its due work (tasks, scheduled reports, overdue reports): at the dispatcher's 0.05 s interval
# of the benchmarks, such loops ran twenty rounds a second each, and on PostgreSQL their
# queries took the server's CPU from ingest (bench/warnings.py).
FOLLOW_GAP_S = 0.25


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

    @property
    def retention(self) -> RetentionService:
        """The observations' retention job."""

    @property
    def alert_receiver(self) -> AlertReceiverService:
        """Prometheus alerts (those past their endsAt are lifted on schedule)."""


class _Loop:
    """A thread that runs `work` when woken and at least every `interval` seconds.

    With a `gap`, two rounds start at least `gap` seconds apart: a wake-up within it waits
    for its end, and the wake-ups that came meanwhile are taken by that one round (each was set
    after its commit, and the round reads after it clears them, so it sees every one).

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
        gap: float = 0.0,
    ) -> None:
        self.wake = wake or threading.Event()
        self.gap = gap
        self.started_at = -gap  # when the last round started (time.monotonic)
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
            rest = self.started_at + self.gap - time.monotonic()
            if rest > 0:
                self.stopping.wait(rest)
            self.wake.clear()
            if self.stopping.is_set():
                return
            self.started_at = time.monotonic()
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
    return _keep(lambda: leadership, Leadership.claim, interval=interval)


def keep_renewing(
    held: Callable[[], Sequence[Leadership]], *, interval: float
) -> Callable[[], None]:
    """Renew the leases `held()` names every `interval` seconds in a thread, never taking one
    this process gave up (a worker's partitions, which move to other workers); return a
    function that stops it."""
    return _keep(held, Leadership.renew, interval=interval)


def _keep(
    held: Callable[[], Sequence[Leadership]],
    act: Callable[[Leadership], object],
    *,
    interval: float,
) -> Callable[[], None]:
    """`act` on each lease `held()` names every `interval` seconds in a thread."""

    def run() -> bool:
        for lease in held():
            act(lease)
        return False

    loop = _Loop("tocsin-leases", run, interval=interval)
    loop.start()
    return loop.stop


def watch_feed(store: Store, loops: Sequence[_Loop], *, every: float) -> _Loop:
    """A loop that wakes `loops` when a warning transition was committed by another process
    (a `serve` beside `notify run`, whose bus this process does not hear): every `every`
    seconds it asks whether a warning record came after the newest record it saw last time,
    a read bounded by what came since, so the loops need not poll the feeds themselves that
    often. Records about anything else (a public report, a task) do not wake them: in a
    stream of reports the audit chain's head moves with every commit, and waking on it had
    the three followers look at their feeds twenty times a second for nothing. Audit records
    become visible in the order of their ids (each append holds the chain's head until its
    commit); were one to appear late, the loops' own timers would still find it."""
    seen: list[int] = []  # the newest record's id at the last look

    def look() -> bool:
        with store.transaction() as tx:
            top, moved = tx.audit.moved(WARNING_SUBJECT, after_id=seen[0] if seen else -1)
        if moved or not seen:
            for loop in loops:
                loop.wake.set()
        seen[:] = [top]
        return False

    return _Loop("tocsin-feed-watch", look, interval=every)


class Work(StrEnum):
    """What a process's background loops do (`tocsin notify run --work`)."""

    DISPATCH = "dispatch"  # the dispatcher, under the dispatch lease
    DELIVER = "deliver"  # the delivery worker (with dispatch: the in-process hand-off)
    SCHEDULE = "schedule"  # the timers, under the schedule lease


EVERYTHING = frozenset(Work)


def parse_work(text: str) -> frozenset[Work]:
    """`all`, or a comma-separated list of dispatch, deliver and schedule.

    >>> sorted(parse_work("schedule,dispatch"))
    [<Work.DISPATCH: 'dispatch'>, <Work.SCHEDULE: 'schedule'>]
    """
    if text.strip() == "all":
        return EVERYTHING
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = {w.value for w in Work}
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise InvalidInput(
            [Problem("--work", "", f"{text!r}: say all, or some of {', '.join(sorted(known))}")]
        )
    return frozenset(Work(n) for n in names)


def start_background(
    container: _Wired,
    *,
    interval: float | None = None,
    watch: float | None = None,
    work: frozenset[Work] = EVERYTHING,
    ingests: bool = True,
) -> Callable[[], None]:
    """Start the lease keeper and the loops of `work`; return a function that stops them and
    gives the leases up. With `watch` (seconds), a watcher wakes the loops that follow warning
    transitions as soon as another process has committed some.

    The dispatcher (and, with `deliver`, the delivery of what it hands over) works only while
    this process holds the dispatch lease; the timers (`schedule`: the response, report
    deadlines, public alerts, CAP imports, retention) only while it holds the schedule lease.
    A standby keeps trying to take each over. Nothing of it starts when
    `settings.background_workers` is false (a separate `tocsin notify run` process does the
    work). The rules lease is kept when this process `ingests` (`serve`, not `notify run`).
    Without `deliver`, a dispatching process writes the outbox's rows unclaimed, and processes
    started with `start_delivery` send them."""
    leases, settings = container.leases, container.settings
    keep_every = leases.ttl.total_seconds() / 3
    kept = [leases.rules] if ingests else []
    receiving = (_alert_expiry(container, leases.rules),) if ingests else ()
    if not settings.background_workers:
        for loop in receiving:
            loop.start()
        stop_keeping = keep_leases(kept, interval=keep_every)

        def stop_rules() -> None:
            stop_keeping()
            for loop in receiving:
                loop.stop()
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

    def next_flush() -> float | None:
        due = dispatcher.next_due() if owner.holds() else None
        return None if due is None else (due - clock.now()).total_seconds()

    dispatching: tuple[_Loop, ...] = ()  # the dispatcher, and the delivery it hands to
    following: tuple[_Loop, ...] = ()  # the loops a warning transition wakes
    timers: tuple[_Loop, ...] = ()  # the schedule owner's
    if Work.DISPATCH in work:
        dispatch_loop = _Loop("tocsin-dispatch", dispatch, interval=interval, until=next_flush)
        dispatching = following = (dispatch_loop,)
        if Work.DELIVER in work:
            delivery_loop = _Loop("tocsin-delivery", deliver, interval=interval, wake=handoff.ready)
            dispatching = (delivery_loop, dispatch_loop)
        kept.append(owner)
    if Work.SCHEDULE in work:
        followers = _followers(container, interval=interval)
        following += followers
        timers = (*followers, _importer(container), *_retention(container))
        if settings.role == "api":  # the API processes receive posts; nobody holds the rules
            timers += (_alert_expiry(container, leases.schedule),)
        kept.append(leases.schedule)
    loops = (*dispatching, *timers, *receiving)
    if watch is not None and following:
        loops += (watch_feed(container.store, following, every=watch),)

    def on_message(topic: str, _payload: Mapping[str, Any]) -> None:
        if topic == "warnings":
            for loop in following:
                loop.wake.set()

    def wake_all(group: Sequence[_Loop]) -> Callable[[object], None]:
        def wake(_lease: object) -> None:
            for loop in group:
                loop.wake.set()

        return wake

    owner.on_gain = wake_all(dispatching)
    leases.schedule.on_gain = wake_all(timers)  # the retention job runs as soon as it is ours
    delivering = Work.DISPATCH in work and Work.DELIVER in work
    stop_listening = handoff.listen() if delivering else (lambda: None)
    unlisten = container.bus.listen(on_message)
    for loop in loops:
        loop.start()
    stop_keeping = keep_leases(kept, interval=keep_every)

    def stop() -> None:
        stop_keeping()
        unlisten()
        stop_listening()
        for loop in reversed(loops):
            loop.stop()
        leases.release()

    return stop


def _retention(container: _Wired) -> tuple[_Loop, ...]:
    """The retention jobs of the schedule owner: reporters' contacts hourly, observations
    every `TOCSIN_RETENTION_INTERVAL_H` (docs/retention.md)."""
    owner = container.leases.schedule

    def delete_contacts() -> bool:
        if owner.holds():
            container.reports.delete_due_contacts()
        return False

    def retain_observations() -> bool:
        if owner.holds():
            done = container.retention.run()
            log.info("retention run", extra=done.as_json())
        return False

    every = container.settings.retention_interval_h * 3_600.0
    return (
        _Loop("tocsin-contacts", delete_contacts, interval=RETENTION_INTERVAL_S),
        _Loop("tocsin-retention", retain_observations, interval=every),
    )


def _alert_expiry(container: _Wired, owner: Leadership) -> _Loop:
    """The loop that lifts Prometheus alerts past their endsAt: while this process holds
    `owner` (the rules lease of the process receiving the posts; the schedule lease in the
    API role), spans counted from when it took it at the earliest (before, the posts went
    nowhere or to another process, or another process lifted them)."""
    clock = container.clock
    since: list[datetime] = []  # when this process was first seen holding the lease

    def expire() -> bool:
        if not owner.holds():
            since.clear()
        elif not since:
            since.append(clock.now())
        else:
            container.alert_receiver.expire(since=since[0])
        return False

    return _Loop("tocsin-alert-expiry", expire, interval=EXPIRY_INTERVAL.total_seconds())


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
    """The loops that follow warning transitions in the schedule owner: public alerts and the
    response."""
    cap, responder, clock = container.cap, container.response.responder, container.clock
    overdue = container.report_overdue
    owner = container.leases.schedule

    def follow() -> bool:
        if owner.holds():
            cap.follower.tick(clock.now())
        return False

    def respond() -> bool:
        if owner.holds():
            responder.tick(clock.now())
            overdue.tick()  # public reports past their deadlines, as for tasks
        return False

    return (
        _Loop("tocsin-public-alerts", follow, interval=interval, gap=FOLLOW_GAP_S),
        _Loop("tocsin-respond", respond, interval=interval, gap=FOLLOW_GAP_S),
    )


def _importer(container: _Wired) -> _Loop:
    """The schedule owner's CAP importer: due sources polled and expired messages ended every
    `cap_poll_interval_s`. Not woken by warning transitions: in a storm it would read its
    sources' state and the expired messages four times a second for nothing."""
    imports, owner = container.cap.imports, container.leases.schedule
    importer = system_principal("cap-import")

    def read_sources() -> bool:
        if owner.holds():
            imports.poll_due(principal=importer)
            imports.expire()
        return False

    return _Loop("tocsin-cap-import", read_sources, interval=container.settings.cap_poll_interval_s)

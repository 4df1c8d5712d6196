"""The pipeline's background loops in a serving process: dispatcher, delivery worker, the
public alerts' follower and importer, and the responder.

`start_background(container)` starts daemon threads and returns a function that stops them:

- the dispatcher ticks when a warning transition is published on the bus (after commit), and at
  least every `dispatch_interval_s` for the timers (group waits, escalations, silence expiry);
- the delivery worker listens on the container's hand-off: it sends what the dispatcher handed
  over right after its commit, and runs a round when woken (new outbox rows) and at least every
  `dispatch_interval_s` for retries;
- public alerts follow their warnings (updates, cancels, auto-publication) when a warning
  transition is published and at least every `dispatch_interval_s`; CAP sources are polled
  (each at its own interval) and imported messages past their expiry end, every
  `cap_poll_interval_s`.
- the responder (`Responder.tick`: emergency plans on warning transitions, overdue tasks'
  reminders and escalations, scheduled situation reports) ticks with the dispatcher's wake-ups
  and interval. Where several processes serve one database only the elected owner should run
  it (issue 11's leases); every step of it is idempotent meanwhile.

Only these outermost loops catch every exception: they log it and back off, then carry on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.ports import Clock
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher
from tocsin.services.public_alert_follower import PublicAlertFollower

if TYPE_CHECKING:
    from tocsin.services.cap_imports import CapImportService
from tocsin.services.responder import Responder

log = logging.getLogger(__name__)


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
    def response(self) -> _Responding:
        """The response (its responder)."""

    @property
    def handoff(self) -> Handoff:
        """The dispatcher's hand-off to this process's delivery worker."""

    @property
    def clock(self) -> Clock:
        """The clock."""

    @property
    def settings(self) -> Settings:
        """Process settings (background_workers, dispatch_interval_s)."""

    @property
    def bus(self) -> _Listenable:
        """The in-process bus."""

    @property
    def cap(self) -> _Cap:
        """Public alerts."""


class _Loop:
    """A thread that runs `work` when woken and at least every `interval` seconds."""

    def __init__(
        self,
        name: str,
        work: Callable[[], bool],
        *,
        interval: float,
        wake: threading.Event | None = None,
    ) -> None:
        self.wake = wake or threading.Event()
        self.stopping = threading.Event()
        self.work = work
        self.interval = interval
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            self.wake.wait(self.interval * (2 ** min(failures, 6)))
            self.wake.clear()
            if self.stopping.is_set():
                return
            try:
                while self.work() and not self.stopping.is_set():
                    pass
                failures = 0
            except Exception:
                failures += 1
                log.exception("background loop failed", extra={"loop": self.thread.name})

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=10)


def start_background(container: _Wired, *, interval: float | None = None) -> Callable[[], None]:
    """Start the dispatcher, delivery and responder loops; return a function that stops them.

    Nothing starts when `settings.background_workers` is false (e.g. when a separate
    `tocsin notify run` process does the work)."""
    if not container.settings.background_workers:
        return lambda: None
    interval = interval or container.settings.dispatch_interval_s
    dispatcher, delivery, clock = container.dispatcher, container.delivery, container.clock
    handoff = container.handoff

    def deliver() -> bool:
        handed = handoff.take()
        if handed:
            delivery.deliver_claimed(handed, clock.now())
        report = delivery.run_once(clock.now())
        return report.delivered + report.retried + report.failed >= delivery.batch

    def dispatch() -> bool:
        dispatcher.tick(clock.now())
        return False

    cap = container.cap
    importer = system_principal("cap-import")

    def follow() -> bool:
        cap.follower.tick(clock.now())
        return False

    def read_sources() -> bool:
        cap.imports.poll_due(principal=importer)
        cap.imports.expire()
        return False

    responder = container.response.responder

    def respond() -> bool:
        responder.tick(clock.now())
        return False

    delivery_loop = _Loop("tocsin-delivery", deliver, interval=interval, wake=handoff.ready)
    dispatch_loop = _Loop("tocsin-dispatch", dispatch, interval=interval)
    follow_loop = _Loop("tocsin-public-alerts", follow, interval=interval)
    import_loop = _Loop(
        "tocsin-cap-import", read_sources, interval=container.settings.cap_poll_interval_s
    )
    respond_loop = _Loop("tocsin-respond", respond, interval=interval)
    loops = (delivery_loop, dispatch_loop, follow_loop, import_loop, respond_loop)

    def on_message(topic: str, _payload: Mapping[str, Any]) -> None:
        if topic == "warnings":
            dispatch_loop.wake.set()
            follow_loop.wake.set()
            respond_loop.wake.set()

    stop_listening = handoff.listen()
    unlisten = container.bus.listen(on_message)
    for loop in loops:
        loop.thread.start()
        loop.wake.set()

    def stop() -> None:
        unlisten()
        stop_listening()
        for loop in (import_loop, follow_loop, respond_loop, dispatch_loop, delivery_loop):
            loop.stop()

    return stop

"""The pipeline's background loops in a serving process: dispatcher and delivery worker.

`start_background(container)` starts two daemon threads and returns a function that stops them:

- the dispatcher ticks when a warning transition is published on the bus (after commit), and at
  least every `dispatch_interval_s` for the timers (group waits, escalations, silence expiry);
- the delivery worker listens on the container's hand-off: it sends what the dispatcher handed
  over right after its commit, and runs a round when woken (new outbox rows) and at least every
  `dispatch_interval_s` for retries.

Only these outermost loops catch every exception: they log it and back off, then carry on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tocsin.config import Settings
from tocsin.ports import Clock
from tocsin.services.delivery import DeliveryWorker, Handoff
from tocsin.services.dispatcher import Dispatcher

log = logging.getLogger(__name__)


class _Listenable(Protocol):
    def listen(self, listener: Callable[[str, Mapping[str, Any]], None]) -> Callable[[], None]:
        """Register a bus listener."""


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
    def settings(self) -> Settings:
        """Process settings (background_workers, dispatch_interval_s)."""

    @property
    def bus(self) -> _Listenable:
        """The in-process bus."""


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
    """Start the dispatcher and delivery loops; return a function that stops both.

    Nothing starts when `settings.background_workers` is false (e.g. when a separate
    `tocsin notify run` process does the work)."""
    if not container.settings.background_workers:
        return lambda: None
    interval = interval or container.settings.dispatch_interval_s
    dispatcher, delivery, clock = container.dispatcher, container.delivery, container.clock
    handoff = container.handoff

    def deliver() -> bool:
        handed = handoff.take(clock.now())
        if handed:
            delivery.deliver_claimed(handed, clock.now())
        report = delivery.run_once(clock.now())
        return report.handled >= delivery.batch

    def dispatch() -> bool:
        dispatcher.tick(clock.now())
        return False

    delivery_loop = _Loop("tocsin-delivery", deliver, interval=interval, wake=handoff.ready)
    dispatch_loop = _Loop("tocsin-dispatch", dispatch, interval=interval)

    def on_message(topic: str, _payload: Mapping[str, Any]) -> None:
        if topic == "warnings":
            dispatch_loop.wake.set()

    stop_listening = handoff.listen()
    unlisten = container.bus.listen(on_message)
    delivery_loop.thread.start()
    dispatch_loop.thread.start()
    dispatch_loop.wake.set()
    delivery_loop.wake.set()

    def stop() -> None:
        unlisten()
        stop_listening()
        dispatch_loop.stop()
        delivery_loop.stop()

    return stop

"""The in-process bus: synchronous fan-out to listeners registered at wiring time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[[str, Mapping[str, Any]], None]


class MemoryBus:
    """Publishes to in-process listeners; a failing listener is logged and does not stop others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Register a listener; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Deliver to every listener."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(topic, payload)
            except Exception:
                log.exception("bus listener failed", extra={"topic": topic})

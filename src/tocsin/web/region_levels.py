"""The highest open warning level and the open count of every region's subtree, for the map,
computed once per change of the warnings rather than once per request.

With 10,000 open warnings the roll-up reads 10,000 (region, level) counts; every map request
of every open browser would read them again. Here one reading serves every request until a
warning changes: a `warnings` message on the bus (this process's changes, published after their
commit) marks it stale, and so does age (`max_age_for`), for changes that other processes commit
and this bus never hears of. A request that comes after a change therefore never sees the state
before it; concurrent requests wait for one reading instead of making one each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tocsin.adapters.bus.memory import MemoryBus

Levels = dict[str, dict[str, Any]]


class RegionLevels:
    """`read()` -> region -> {level, rank, count} of its subtree's open warnings, cached."""

    def __init__(
        self, compute: Callable[[], Levels], bus: MemoryBus, *, max_age_for: float = 5.0
    ) -> None:
        self.compute = compute
        self.max_age_for = max_age_for
        self._lock = threading.Lock()  # one reading at a time
        self._generation = 0  # changed by every change heard of
        self._cached: tuple[int, float, Levels] | None = None  # generation, when, value
        self.readings = 0  # how many times the store was read (for tests and figures)
        bus.listen(self._on_message)  # for the container's lifetime, as the router is

    def _on_message(self, topic: str, _payload: Mapping[str, Any]) -> None:
        if topic == "warnings":  # no lock: a publisher never waits for a reading
            self._generation += 1

    def read(self) -> Levels:
        """The roll-up as of now: cached while no warning changed and it is young enough."""
        with self._lock:
            cached = self._cached
            fresh = cached is not None and cached[0] == self._generation
            if cached is not None and fresh and time.monotonic() - cached[1] < self.max_age_for:
                return cached[2]
            generation = self._generation
            value = self.compute()  # under the lock: one reading serves the requests waiting
            self.readings += 1
            self._cached = (generation, time.monotonic(), value)
            return value

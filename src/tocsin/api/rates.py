"""Rate limits: sign-in attempts per client address, writes per principal (429 with
`Retry-After`).

A token bucket per key: `per_minute` tokens a minute, at most `burst` saved up. The buckets live
in this process (behind several API processes, each limits on its own: the limit a client meets
is at most the number of processes times this).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 100_000  # forget the least recently used past this many clients


@dataclass
class TokenBucket:
    """Per-key buckets: `allow(key)` spends one token or says how long to wait."""

    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> int | None:
        """None when the key may go on now; else the whole seconds to wait (at least 1)."""
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._trim()
                return None
            self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))

    def _trim(self) -> None:
        while len(self._buckets) > MAX_KEYS:
            del self._buckets[next(iter(self._buckets))]

"""Abuse limits for public reports: a sliding-window rate limit per key (an app's API key, an
address range), and the address range a client address belongs to."""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

IPV4_PREFIX = 24  # one household or small office shares a /24 or less
IPV6_PREFIX = 56  # the usual IPv6 assignment to one site


def address_range(address: str) -> str:
    """The network a client address is counted in (/24 for IPv4, /56 for IPv6); the address
    itself when it is not an IP address (a test client's name)."""
    parts = address.split(".")
    if len(parts) == 4 and all(_octet(p) for p in parts):  # the common case, without parsing
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/{IPV4_PREFIX}"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _octet(part: str) -> bool:
    """A decimal octet as `ipaddress` takes it (no sign, no leading zero, at most 255)."""
    return (
        0 < len(part) <= 3
        and part.isascii()
        and part.isdigit()
        and (part == "0" or part[0] != "0")
        and int(part) <= 255
    )


@dataclass
class RateLimit:
    """At most `limit` events per key within `window`; `now` is passed in."""

    limit: int
    window: timedelta
    seen: dict[str, deque[datetime]] = field(default_factory=dict)

    def retry_after(self, key: str, *, now: datetime) -> float:
        """Seconds until the key may act again (0: it may now; the event is counted)."""
        times = self.seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max((times[0] + self.window - now).total_seconds(), 1.0)
        times.append(now)
        if len(self.seen) > 100_000:  # forget idle keys so the table stays bounded
            self._forget(now)
        return 0.0

    def _forget(self, now: datetime) -> None:
        idle = [k for k, v in self.seen.items() if not v or v[-1] <= now - self.window]
        for k in idle:
            del self.seen[k]

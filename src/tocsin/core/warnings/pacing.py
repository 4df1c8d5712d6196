"""Pacing: how fast, and how many at once, one receiver's address is sent notifications.

A delivery worker sends to many addresses at the same time, but each address (a unit's
webhook, a duty desk's mail box) gets at most `in_flight` requests at once and, when it has a
rate, at most `rate_per_s` a second on average (a token bucket holding `burst` tokens). When an
address fails in a way that retrying may cure (a timeout, a 5xx, 429 Too Many Requests), the
address is *held*: nothing more is sent to it until its back-off has passed — the receiver's own
`Retry-After` when it gave one, else the notification's back-off (outbox.backoff) — so a receiver
that is down or overloaded gets one request per back-off, not a storm of retries. Other
addresses are not held up.

Pure: each function takes the lane as it is and `now`, and returns the lane as it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """What one address accepts: requests at once, and a rate (None: no rate limit)."""

    in_flight: int = 32
    rate_per_s: float | None = None
    burst: int = 10


DEFAULT_PACE = PaceLimits()  # an address configured with no limits of its own
# a reporter's updates go one at a time, so they arrive in the order the steps were taken
IN_ORDER = PaceLimits(in_flight=1)


@dataclass(frozen=True, slots=True)
class Lane:
    """One address's pacing state."""

    in_flight: int = 0
    tokens: float = 0.0
    refilled_at: datetime | None = None  # None: the bucket starts full
    held_until: datetime | None = None


class Admission(StrEnum):
    """Whether a notification may be sent to its address now, and if not, why."""

    SEND = "send"
    BUSY = "busy"  # `in_flight` requests are out: send when one returns
    PACED = "paced"  # the rate's tokens are spent: send when one is back
    HELD = "held"  # the address is backing off: release until it has passed


@dataclass(frozen=True, slots=True)
class Decision:
    """The admission, the lane after it, and when to ask again (PACED, HELD)."""

    admission: Admission
    lane: Lane
    retry_at: datetime | None = None


def _refill(lane: Lane, limits: PaceLimits, now: datetime) -> Lane:
    if limits.rate_per_s is None:
        return lane
    if lane.refilled_at is None:
        return replace(lane, tokens=float(limits.burst), refilled_at=now)
    gained = max((now - lane.refilled_at).total_seconds(), 0.0) * limits.rate_per_s
    return replace(lane, tokens=min(float(limits.burst), lane.tokens + gained), refilled_at=now)


def admit(lane: Lane, limits: PaceLimits, now: datetime) -> Decision:
    """May one more notification go to this address at `now`? (SEND takes its slot.)"""
    if lane.held_until is not None and now < lane.held_until:
        return Decision(Admission.HELD, lane, lane.held_until)
    if lane.in_flight >= limits.in_flight:
        return Decision(Admission.BUSY, lane)
    lane = _refill(replace(lane, held_until=None), limits, now)
    if limits.rate_per_s is not None:
        if lane.tokens < 1.0:
            wait = timedelta(seconds=(1.0 - lane.tokens) / limits.rate_per_s)
            return Decision(Admission.PACED, lane, now + wait)
        lane = replace(lane, tokens=lane.tokens - 1.0)
    return Decision(Admission.SEND, replace(lane, in_flight=lane.in_flight + 1))


def returned(lane: Lane, *, hold_until: datetime | None = None) -> Lane:
    """The lane after a send came back; `hold_until` holds the address (a retryable failure:
    the later of the current hold and this one)."""
    lane = replace(lane, in_flight=max(lane.in_flight - 1, 0))
    if hold_until is None:
        return lane
    if lane.held_until is not None and lane.held_until >= hold_until:
        return lane
    return replace(lane, held_until=hold_until)

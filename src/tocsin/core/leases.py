"""Leases: which process owns a piece of shared state, for how long, and the fencing token.

Several processes can run on one database. Work that keeps state in memory (the threshold and
detector rules) or must run once (the dispatcher) belongs to one of them at a time: the holder
of a named lease. A lease is a row in the database: its holder, its expiry and a fencing token.
The holder renews it well before it expires; when it stops (killed, paused, cut off), another
process takes it over once it has expired, and the token grows by one. Every write made under a
lease is committed only while the stored token is still the writer's (the *fence*): a paused old
holder that wakes up after a takeover cannot commit anything (Kleppmann's fencing tokens;
Gray and Cheriton 1989 for leases).

This module decides, purely, what a claim does; the stores compare-and-set the row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class LeaseName(StrEnum):
    """The leases Tocsin elects an owner for."""

    RULES = "rules"  # the threshold and detector rules' state: every observation goes through it
    DISPATCH = "dispatch"  # the warning pipeline's dispatcher and this owner's delivery worker
    SCHEDULE = "schedule"  # the timers: the response, report deadlines, public alerts, retention


@dataclass(frozen=True, slots=True)
class Holder:
    """Who claims a lease: an id unique to one process run, and where it serves (if it does)."""

    id: str
    address: str = ""

    def __str__(self) -> str:
        """`id` or `id at address`."""
        return f"{self.id} at {self.address}" if self.address else self.id


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as stored: its holder until `expires_at`, and the fencing token of this grant."""

    name: str
    holder: Holder
    token: int
    expires_at: datetime

    def is_valid_at(self, now: datetime) -> bool:
        """True while the lease has not expired."""
        return now < self.expires_at

    def is_held_by(self, holder: Holder) -> bool:
        """True when `holder` holds this lease (expired or not)."""
        return self.holder.id == holder.id


class ClaimReason(StrEnum):
    """What a claim found, and so what it does."""

    FREE = "free"  # no lease of that name yet: taken with token 1
    EXPIRED = "expired"  # another holder's lease ran out: taken over, token + 1
    RELEASED = "released"  # another holder gave it up: taken, token + 1
    RENEWED = "renewed"  # the claimant's own lease: extended, same token
    HELD = "held"  # another holder's lease is still valid: nothing changes


@dataclass(frozen=True, slots=True)
class ClaimDecision:
    """The outcome of a claim: why, and the lease to store (None when nothing changes)."""

    reason: ClaimReason
    lease: Lease | None

    @property
    def takes(self) -> bool:
        """True when the claimant gets (or keeps) the lease."""
        return self.lease is not None


RELEASED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # the expiry of a lease its holder gave up


def claim(
    current: Lease | None, *, name: str, holder: Holder, now: datetime, ttl: timedelta
) -> ClaimDecision:
    """Decide a claim on lease `name` by `holder` at `now`, for `ttl` from now.

    A holder renewing its own lease keeps its token even when the lease has run out meanwhile:
    nobody else held it in between, so nothing it kept in memory is stale.

    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a, b = Holder("a"), Holder("b")
    >>> first = claim(None, name="rules", holder=a, now=t0, ttl=timedelta(seconds=10))
    >>> first.reason, first.lease.token
    (<ClaimReason.FREE: 'free'>, 1)
    >>> claim(first.lease, name="rules", holder=b, now=t0, ttl=timedelta(seconds=10)).reason
    <ClaimReason.HELD: 'held'>
    >>> later = t0 + timedelta(seconds=11)
    >>> taken = claim(first.lease, name="rules", holder=b, now=later, ttl=timedelta(seconds=10))
    >>> taken.reason, taken.lease.token, taken.lease.holder.id
    (<ClaimReason.EXPIRED: 'expired'>, 2, 'b')
    >>> claim(released(taken.lease), name="rules", holder=a, now=later, ttl=timedelta(1)).reason
    <ClaimReason.RELEASED: 'released'>
    """
    expires_at = now + ttl
    if current is None:
        return ClaimDecision(ClaimReason.FREE, Lease(name, holder, 1, expires_at))
    if current.is_held_by(holder):
        return ClaimDecision(
            ClaimReason.RENEWED, replace(current, holder=holder, expires_at=expires_at)
        )
    if current.is_valid_at(now):
        return ClaimDecision(ClaimReason.HELD, None)
    reason = ClaimReason.RELEASED if current.expires_at == RELEASED_AT else ClaimReason.EXPIRED
    return ClaimDecision(reason, Lease(name, holder, current.token + 1, expires_at))


def released(lease: Lease) -> Lease:
    """The lease given up by its holder: expired at once, so another may take it now."""
    return replace(lease, expires_at=RELEASED_AT)


def remaining(lease: Lease, now: datetime) -> timedelta:
    """How long the lease still runs (zero once expired)."""
    return max(lease.expires_at - now, timedelta(0))

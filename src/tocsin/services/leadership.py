"""Leadership: this process's claim on a named lease, so that several processes can share one
database and each piece of in-memory state has exactly one owner.

`Leadership.claim()` makes one attempt (take a free or expired lease, renew our own) in a short
transaction of its own; `require()` gives the lease while this process holds it with time to
spare, claiming on demand, and raises `NotOwner` (naming the owner; a 503 with `Retry-After`
in the API) when another process holds it. A serving process claims and renews in a background
loop every third of the lease's time (`services/background.py`); a command that ingests claims
on demand and lets the lease go when it closes.

Holding a lease is not enough to write: every transaction made under it is fenced (the store
commits it only while the stored token is still ours, `ports/leases.py`), so a process paused
past its expiry cannot commit after another took over. State kept in memory is valid for one
token; the owner of the rules reloads it from the database when its token changes.

Each change of what this process holds, or of a fault keeping it from the database, is logged
once.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from tocsin.core.errors import NotOwner, Unavailable
from tocsin.core.leases import (
    ClaimReason,
    Holder,
    Lease,
    LeaseName,
    claim,
    released,
    remaining,
)
from tocsin.core.warnings.outbox import Notification
from tocsin.ports import AlertingSession, AlertingStore, Clock, Store

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=6)
WAIT_POLL_S = 0.25


def process_holder(address: str = "") -> Holder:
    """A holder id unique to this process run: host, process id and a random part."""
    return Holder(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}", address)


class Leadership:
    """This process's claim on one named lease."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        name: LeaseName | str,
        holder: Holder,
        ttl: timedelta = DEFAULT_TTL,
        on_gain: Callable[[Lease], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.on_gain = on_gain
        self.lease: Lease | None = None  # ours, as last stored
        self.seen: Lease | None = None  # the stored lease as last read (ours or another's)
        self.fault: Unavailable | None = None
        self._lock = threading.RLock()

    def holds(self) -> bool:
        """True while this process holds the lease (by its own clock)."""
        return self.held() is not None

    def held(self) -> Lease | None:
        """The lease while this process holds it (by its own clock; no database access)."""
        lease = self.lease
        return lease if lease is not None and lease.is_valid_at(self.clock.now()) else None

    def claim(self) -> Lease | None:
        """One attempt to take or renew the lease; the lease held afterwards, if any.
        `on_gain` runs (outside the lock) when this process takes a lease with a new token."""
        with self._lock:
            now = self.clock.now()
            try:
                reason, lease = self._claim(now)
            except Unavailable as err:
                self._fault(err)
                return self.lease if self.holds() else None
            self._recovered()
            gained = self._changed(reason, lease)
        if gained and lease is not None and self.on_gain is not None:
            self.on_gain(lease)
        return lease

    def _claim(self, now: datetime) -> tuple[ClaimReason, Lease | None]:
        """Read, decide, compare-and-set: in one short transaction."""
        with self.store.transaction() as tx:
            current = tx.leases.current(self.name)
            decision = claim(current, name=self.name, holder=self.holder, now=now, ttl=self.ttl)
            self.seen = current
            if decision.lease is None or not tx.leases.replace(decision.lease, expected=current):
                return ClaimReason.HELD, None
            self.seen = decision.lease
            return decision.reason, decision.lease

    def renew(self) -> Lease | None:
        """Renew the lease while this process holds it; never take it (a lease given up or
        lost stays so until `claim` or `require`)."""
        with self._lock:
            return None if self.lease is None else self.claim()

    def require(self, *, wait: timedelta | None = None) -> Lease:
        """The lease, held for at least half its time from now (claimed or renewed if not), or
        NotOwner naming the owner (Unavailable when the database cannot be reached).

        With `wait`, keep trying that long (by the wall clock) before giving up: a command run
        just after a server stopped waits for its lease to run out."""
        deadline = time.monotonic() + (wait.total_seconds() if wait else 0.0)
        while True:
            with self._lock:
                lease = self.lease
                if lease is not None and remaining(lease, self.clock.now()) > self.ttl / 2:
                    return lease
                lease = self.claim()
                if lease is not None:
                    return lease
                if time.monotonic() >= deadline:
                    raise self.fault or self.not_owner()
            time.sleep(WAIT_POLL_S)

    def lease_for_writes(self) -> Lease | None:
        """The lease if this process holds or can take it now; None when another holds it."""
        try:
            return self.require()
        except Unavailable:
            return None

    def not_owner(self) -> NotOwner:
        """The error a standby answers: who owns the lease, and when to try again."""
        owner = self.seen
        if owner is None:
            return NotOwner(f"nobody holds the {self.name} lease yet; retry", retry_after_s=1)
        left = remaining(owner, self.clock.now()).total_seconds()
        wait = max(1, math.ceil(left))
        until = owner.expires_at.strftime("%H:%M:%S UTC")
        return NotOwner(
            f"another process owns the {self.name} of this database: {owner.holder} holds "
            f"its lease until {until} (renewed while it runs); send the request there, or "
            f"retry in {wait} s (a standby takes over once the lease runs out)",
            owner=str(owner.holder),
            retry_after_s=wait,
        )

    def lost(self, lease: Lease) -> None:
        """A fenced write found `lease` no longer current: forget it (the next claim reads who
        holds it now)."""
        with self._lock:
            if self.lease is not None and self.lease.token == lease.token:
                self._changed(ClaimReason.HELD, None)

    def release(self) -> None:
        """Give the lease up (if held), so that another process may take it at once. A lease
        that ran out and was taken by another meanwhile is left to it."""
        with self._lock:
            lease, self.lease = self.lease, None
            if lease is None:
                return
            try:
                with self.store.transaction() as tx:
                    current = tx.leases.current(self.name)
                    if current is None or (current.holder.id, current.token) != (
                        lease.holder.id,
                        lease.token,
                    ):
                        return
                    tx.leases.replace(released(current), expected=current)
            except Unavailable:
                return  # it runs out by itself
            log.info("released the %s lease", self.name, extra={"token": lease.token})

    def _changed(self, reason: ClaimReason, lease: Lease | None) -> bool:
        """Log a change of what this process holds (once per change); True when it gained a
        lease with a new token."""
        before, self.lease = self.lease, lease
        if lease is not None and (before is None or before.token != lease.token):
            log.log(
                logging.WARNING if reason is ClaimReason.EXPIRED else logging.INFO,
                "holding the %s lease (%s)",
                self.name,
                reason.value,
                extra={"holder": str(self.holder), "token": lease.token},
            )
            return True
        if lease is None and before is not None:
            owner = self.seen.holder if self.seen else "nobody"
            log.warning(
                "lost the %s lease: now a standby",
                self.name,
                extra={"owner": str(owner), "token": before.token},
            )
        return False

    def _fault(self, err: Unavailable) -> None:
        if self.fault is None:  # said once, until the database answers again
            log.warning("cannot keep the %s lease: %s", self.name, err)
        self.fault = err

    def _recovered(self) -> None:
        if self.fault is not None:
            log.warning("the database answers again: the %s lease is claimed again", self.name)
            self.fault = None


class FencedAlertingStore:
    """The pipeline's store for the dispatcher: every session that writes is fenced by the
    dispatch lease this process holds (a process that holds none may only read). It never
    claims the lease: whoever dispatches claims it first (the background loop, `tocsin notify
    run`), so that reading the notification log takes no lease."""

    def __init__(self, store: AlertingStore, leadership: Leadership) -> None:
        self.store = store
        self.leadership = leadership

    @contextmanager
    def transaction(self) -> Iterator[AlertingSession]:
        """A session of the inner store whose writes commit only under the lease."""
        lease = self.leadership.held()
        try:
            with self.store.transaction() as tx:
                yield tx
                tx.leases.fence(self.leadership.name, lease)
        except NotOwner:
            if lease is not None:
                self.leadership.lost(lease)
            raise

    def claim_notifications(
        self,
        now: datetime,
        *,
        until: datetime,
        limit: int,
        channels: Sequence[str] | None = None,
    ) -> list[Notification]:
        """Claims are safe with several workers: not fenced."""
        return self.store.claim_notifications(now, until=until, limit=limit, channels=channels)


class ProcessLeases:
    """The leases one process may hold: the rules' state, the dispatcher and the scheduler."""

    def __init__(
        self, store: Store, clock: Clock, *, holder: Holder, ttl: timedelta = DEFAULT_TTL
    ) -> None:
        self.holder = holder
        self.ttl = ttl
        self.rules = Leadership(store, clock, name=LeaseName.RULES, holder=holder, ttl=ttl)
        self.dispatch = Leadership(store, clock, name=LeaseName.DISPATCH, holder=holder, ttl=ttl)
        self.schedule = Leadership(store, clock, name=LeaseName.SCHEDULE, holder=holder, ttl=ttl)

    def all(self) -> tuple[Leadership, ...]:
        """Every lease, rules first."""
        return (self.rules, self.dispatch, self.schedule)

    def release(self) -> None:
        """Give every held lease up (a process that stops lets a standby take over at once)."""
        for leadership in self.all():
            leadership.release()

"""Rebalancing: the workers started without fixed partitions share the stream's partitions
evenly, and move them when a worker joins or leaves.

Each such worker holds a membership lease (`stream-worker:<holder>`, renewed with its other
leases). Every third of `TOCSIN_LEASE_S`, between two passes over its partitions (so no
transaction of them is open), it reads the live members and the partitions' owners from the
leases table, works out its share (`core/stream_partitions.balanced_share`: the same answer on
every worker, moving as few partitions as it can), gives up the partitions that are no longer
its own and takes the free ones that are.

A partition moves with everything its rules need, because all of it is committed together
with its stream offset: the observations, the threshold rules' rows, and the detectors' state
of its indicators (one checkpoint per partition, services/rule_checkpoints.py). The worker
that gives a partition up has committed its last message; the one that takes it reads its
state from the database and goes on after that offset. Both are fenced by the partition's
lease, so for a moment a partition may have no owner, never two: no observation is evaluated
twice or skipped, and no warning raised twice or lost. A worker that is killed keeps its
partitions until its leases run out (`TOCSIN_LEASE_S`); then the others share them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from tocsin.core.leases import Holder
from tocsin.core.stream_partitions import (
    MEMBER_PREFIX,
    balanced_share,
    lease_name,
    leased_partition,
)
from tocsin.ports import Clock, Store
from tocsin.services.leadership import Leadership

log = logging.getLogger(__name__)

PARTITION_PREFIX = "stream-partition:"
FORGET_AFTER = 100  # lease times after which a stopped worker's membership row is deleted


@dataclass(frozen=True)
class Move:
    """What one look at the leases table asks of this worker."""

    target: tuple[int, ...]  # its fair share now
    give_up: tuple[int, ...]  # held, no longer its own
    take: tuple[int, ...]  # its own and free

    def __bool__(self) -> bool:
        """True when anything is to change."""
        return bool(self.give_up or self.take)


class PartitionBalancer:
    """This worker's membership and the leases of the partitions it owns (`leases`, shared with
    the stream loop that fences its transactions by them)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        holder: Holder,
        partitions: int,
        ttl: timedelta,
        leases: dict[int, Leadership],
    ) -> None:
        self.store = store
        self.clock = clock
        self.holder = holder
        self.partitions = partitions
        self.ttl = ttl
        self.leases = leases
        self.member = Leadership(
            store, clock, name=MEMBER_PREFIX + holder.id, holder=holder, ttl=ttl
        )

    def owned(self) -> tuple[int, ...]:
        """The partitions this worker owns now."""
        return tuple(sorted(self.leases))

    def held(self) -> list[Leadership]:
        """Every lease this worker keeps renewed: its membership and its partitions'."""
        return [self.member, *list(self.leases.values())]

    def plan(self) -> Move:
        """Join (or stay) and read the table: what to give up and what to take."""
        self.member.require()
        now = self.clock.now()
        with self.store.transaction() as tx:
            listed = tx.leases.named(MEMBER_PREFIX)
            members = [lease.holder.id for lease in listed if lease.is_valid_at(now)]
            forgotten = now - FORGET_AFTER * self.ttl
            if any(lease.expires_at < forgotten for lease in listed):  # workers long gone
                tx.leases.remove_expired(MEMBER_PREFIX, before=forgotten)
            owners = {
                p: lease.holder.id
                for lease in tx.leases.named(PARTITION_PREFIX)
                if lease.is_valid_at(now)
                and (p := leased_partition(lease.name, self.partitions)) is not None
            }
        me = self.holder.id
        target = balanced_share(me, members, owners, partitions=self.partitions)
        lost = [p for p, lease in self.leases.items() if not lease.holds()]
        give_up = sorted({*lost, *(p for p in self.leases if p not in target)})
        take = [p for p in target if p not in self.leases and owners.get(p) in (None, me)]
        return Move(target, tuple(give_up), tuple(take))

    def apply(self, move: Move) -> tuple[list[int], list[int]]:
        """Give up, then take (a partition another worker took first is left to it); the
        partitions given up and taken."""
        for p in move.give_up:
            self.leases.pop(p).release()
        taken = []
        for p in move.take:
            lease = Leadership(
                self.store,
                self.clock,
                name=lease_name(p, self.partitions),
                holder=self.holder,
                ttl=self.ttl,
            )
            if lease.claim() is not None:
                self.leases[p] = lease
                taken.append(p)
        return list(move.give_up), taken

    def renew(self) -> None:
        """Renew what this worker holds (never take back what it gave up)."""
        for lease in self.held():
            lease.renew()

    def close(self) -> None:
        """Give everything up, so the others take the partitions over at once."""
        for p in sorted(self.leases):
            self.leases.pop(p).release()
        self.member.release()


def describe_move(given: Sequence[int], taken: Sequence[int], owned: Sequence[int]) -> str:
    """A log line for a move.

    >>> describe_move([3], [], [0, 1])
    'gave up partitions [3]; owns [0, 1] now'
    """
    parts = []
    if given:
        parts.append(f"gave up partitions {list(given)}")
    if taken:
        parts.append(f"took partitions {list(taken)}")
    return "; ".join(parts) + f"; owns {list(owned)} now"

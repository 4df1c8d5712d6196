"""Wiring of the worker role (`tocsin worker`, docs/deployment.md): a container of its own,
the stream loop over its partitions, their leases, and the balancer that shares them out."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from tocsin.bootstrap import Container, build, stream_reader
from tocsin.config import Settings
from tocsin.core.errors import NotOwner
from tocsin.core.levels import Level
from tocsin.core.stream_partitions import lease_name, partition_table
from tocsin.ports import StoreSession
from tocsin.ports.stream import StreamReader
from tocsin.services.ingest import IngestService, load_rule_state
from tocsin.services.leadership import Leadership, process_holder
from tocsin.services.rule_checkpoints import PartitionCheckpoints
from tocsin.services.staleness import SilenceCheck
from tocsin.services.stream_balance import PartitionBalancer, describe_move
from tocsin.services.stream_worker import StreamWorker

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """A `tocsin worker` process, wired: its container and its stream loop."""

    container: Container
    loop: StreamWorker
    reader: StreamReader
    silence: SilenceCheck  # "source silent" for the indicators of its partitions
    leases: dict[int, Leadership]  # per owned partition (changed by the balancer, if any)
    partitions: int  # of the stream
    table: npt.NDArray[np.int64]  # each indicator id's partition
    balancer: PartitionBalancer | None = None  # None: partitions given by hand
    interval_s: float = 2.0  # between two looks at how the partitions are shared
    _looked: float = -math.inf

    def hold_partitions(self, *, wait: timedelta) -> None:
        """Take every owned partition's lease, waiting up to `wait` for a worker that just
        stopped to let go; NotOwner naming the worker that holds one."""
        for partition, leadership in sorted(self.leases.items()):
            try:
                leadership.require(wait=wait)
            except NotOwner as err:
                raise NotOwner(
                    f"partition {partition} is owned by another worker ({err.owner or 'unknown'}); "
                    "two workers must not own one partition: give this one other partitions "
                    "(--partitions, or --index and --workers)",
                    owner=err.owner,
                    retry_after_s=err.retry_after_s,
                ) from err

    def kept(self) -> list[Leadership]:
        """The leases to renew: the partitions' (and the membership, when balanced)."""
        return self.balancer.held() if self.balancer else list(self.leases.values())

    def rebalance(self, *, now: float | None = None) -> bool:
        """When due (every `interval_s`), look at how the partitions are shared and move this
        worker's: give up, take, and reload the rules' state for the partitions it owns now.
        Runs between passes, so no transaction of a partition is open. True if they moved."""
        balancer = self.balancer
        moment = time.monotonic() if now is None else now
        if balancer is None or moment - self._looked < self.interval_s:
            return False
        self._looked = moment
        move = balancer.plan()
        if not move:
            return False
        ingest = self.loop.ingest
        with ingest.paused():  # no silence check runs between the move and the reload
            given, taken = balancer.apply(move)
            owned = balancer.owned()
            self.loop.take_over(owned)  # never again a partition whose lease it gave up
            self.silence.watch(_owned_by(owned, self.table))
            # the state of the partitions taken is read, the rest kept; a failed read
            # (Unavailable) leaves the state stale: all of it is read before the next batch
            n = self.partitions
            read = np.flatnonzero(np.isin(self.table, taken)).astype(np.int64)
            ingest.take_over(
                PartitionCheckpoints(self.table, n, frozenset(owned)),
                added=PartitionCheckpoints(self.table, n, frozenset(taken)),
                read=read,
            )
        self.reader.release(given)
        # a move is rare and worth an operator's notice (a worker came, left or died)
        log.warning("stream partitions: %s", describe_move(given, taken, owned))
        return bool(given or taken)

    def close(self) -> None:
        """Let go of the stream, the partitions' leases, then the database."""
        self.reader.close()
        if self.balancer is not None:
            self.balancer.close()
        for leadership in self.leases.values():
            leadership.release()
        self.container.close()


def _partitions_of(container: Container, partitions: int) -> npt.NDArray[np.int64]:
    """Each indicator id's partition."""
    codes = [container.rules.by_id[i].code for i in range(container.rules.size)]
    return partition_table(codes, partitions)


def _owned_by(owned: Sequence[int], table: npt.NDArray[np.int64]) -> Callable[[int], bool]:
    """Whether an indicator id lies in the owned partitions."""
    mine = set(owned)
    return lambda ident: int(table[ident]) in mine


def build_worker(settings: Settings, *, partitions: Sequence[int] | None) -> Worker:
    """Wire a worker: of the given partitions, or (None) of its share of them among the
    balanced workers, which starts empty and grows at its first `rebalance`. Its own ingest
    service (not the rules lease: it owns the partitions' indicators instead) keeps the
    detectors' state per partition; it reads the stream from the offsets committed in the
    database."""
    container = build(settings.model_copy(update={"role": "single"}))  # no stream of its own
    n = settings.stream_partitions
    owned = tuple(partitions or ())
    table = _partitions_of(container, n)
    checkpoint = PartitionCheckpoints(table, n, frozenset(owned))
    state, scoring = load_rule_state(container.store, container.rules, checkpoint=checkpoint)
    ingest = IngestService(
        container.store,
        container.bus,
        container.clock,
        container.rules,
        state,
        scoring,
        max_ahead=timedelta(seconds=settings.max_clock_skew_s),
        checkpoint=checkpoint,
    )
    reader = stream_reader(settings)
    holder = process_holder()
    ttl = timedelta(seconds=settings.lease_s)
    leases = {
        p: Leadership(
            container.store, container.clock, name=lease_name(p, n), holder=holder, ttl=ttl
        )
        for p in owned
    }
    balancer = (
        None
        if partitions is not None
        else PartitionBalancer(
            container.store, container.clock, holder=holder, partitions=n, ttl=ttl, leases=leases
        )
    )

    def fence_partitions(tx: StoreSession) -> None:
        for leadership in list(leases.values()):
            tx.leases.fence(leadership.name, leadership.held())

    sources = container.sources
    silence = SilenceCheck(
        container.store,
        container.bus,
        rules=container.rules,
        ingest=ingest,
        after_cadences=sources.silent_after_cadences,
        level=Level(sources.silent_level),
        owns=_owned_by(owned, table),
        fence=fence_partitions,
    )
    loop = StreamWorker(ingest, reader, partitions=owned, leases=leases)
    role = Worker(
        container,
        loop,
        reader,
        silence,
        leases,
        n,
        table,
        balancer,
        interval_s=settings.lease_s / 3,
    )
    if balancer is not None:
        loop.balance = role.rebalance
    return role

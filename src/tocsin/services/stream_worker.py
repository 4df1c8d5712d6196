"""Stream worker: the worker role's loop over the partitions of the ingest stream it owns.

The messages of a partition that are waiting (up to `batch`), in stream order, are stored in
ONE database transaction: each message's observations run through the threshold and detector
rules in a pass of their own (the same `IngestService` pass as a single process, as if the
message came alone), the warning transitions are recorded, and the last message's sequence is
saved as the partition's offset (`CheckpointStore.save_stream_offset`). Only then are the
messages acknowledged to the stream. (One transaction per message held a worker to about
20,000 observations a second in batches of 1,000: `bench/scale.py`.) A message that cannot
be stored makes its group commit one message at a time, so that it alone holds the partition.

On start, and after any failed transaction, the worker reads
from the sequences committed in the database, not from what the stream believes was
acknowledged: a message committed but not acknowledged (a kill in between) is skipped when it
comes again, and one acknowledged but not committed cannot exist. So nothing acknowledged to a
client is lost and nothing is stored or evaluated twice.

A worker owns each of its partitions through a lease (`stream-partition:P/N`,
services/leadership.py) and every transaction of a partition is fenced by that lease. Its
partitions are given by hand (`tocsin worker --partitions`: a second worker started for a
partition another holds is refused, and a worker that lost a partition's lease cannot commit it
and stops) or shared out among the running workers and moved as they come and go
(services/stream_balance.py: the `balance` hook runs between passes, and a partition lost to
another worker is simply given up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tocsin.core.errors import InvalidInput, NotOwner, Unavailable
from tocsin.core.observations import ObservationBatch
from tocsin.core.stream_rows import decode
from tocsin.ports.leases import Ownership
from tocsin.ports.sessions import StoreSession
from tocsin.ports.stream import StreamMessage, StreamReader
from tocsin.services.ingest import IngestService, RawObservations, to_batch

log = logging.getLogger(__name__)

BACKOFF_S = 1.0


class StreamWorker:
    """Consumes the owned partitions into the database, exactly once per message."""

    def __init__(
        self,
        ingest: IngestService,
        reader: StreamReader,
        *,
        partitions: Sequence[int],
        batch: int = 64,
        leases: Mapping[int, Ownership] | None = None,
        balance: Callable[[], object] | None = None,
    ) -> None:
        self.ingest = ingest
        self.reader = reader
        self.partitions = tuple(partitions)
        self.leases = leases  # per partition: the lease its transactions are fenced by
        self.balance = balance  # between passes: move partitions to or from other workers
        self.batch = batch
        self.offsets: dict[int, int] = {}
        self.committed = 0  # messages committed by this process
        self.moves = 0  # times its partitions changed (rebalancing)
        self.failing: str | None = None  # why the last pass failed, while it does
        self.last_pass: float | None = None  # time.monotonic() of the last pass that worked

    def take_over(self, partitions: Sequence[int]) -> None:
        """Own these partitions from now on, each from its committed offset (read before the
        next pass)."""
        self.partitions = tuple(partitions)
        self.offsets = {}
        self.moves += 1

    def resume(self) -> dict[int, int]:
        """Read the committed offsets of the owned partitions from the database."""
        with self.ingest.store.transaction() as tx:
            stored = tx.checkpoints.stream_offsets()
        self.offsets = {p: stored.get(p, 0) for p in self.partitions}
        return dict(self.offsets)

    def run_once(self) -> int:
        """Read each owned partition once and commit what came; the messages committed."""
        if self.balance is not None:
            self.balance()
        if any(p not in self.offsets for p in self.partitions):
            self.resume()
        done = 0
        for partition in self.partitions:
            after = self.offsets[partition]
            fresh: list[StreamMessage] = []
            seen: list[StreamMessage] = []  # committed before: redeliveries
            for message in self.reader.read(partition, after=after, limit=self.batch):
                (fresh if message.sequence > self.offsets[partition] else seen).append(message)
            if seen:
                self.reader.acknowledge(seen)
            if fresh:
                self.commit_all(fresh)
                self.reader.acknowledge(fresh)
                done += len(fresh)
        return done

    def commit_all(self, messages: Sequence[StreamMessage]) -> None:
        """Store and evaluate consecutive messages of one partition in one transaction, each in
        a rule pass of its own (as if it came alone), and save the last one's sequence. When
        one of them cannot be stored, they are committed one by one, so that those before it
        are stored and it holds the partition up."""
        if len(messages) == 1:
            self.commit(messages[0])
            return
        try:
            self._commit(messages)
        except InvalidInput:
            for message in messages:
                self.commit(message)

    def commit(self, message: StreamMessage) -> None:
        """Store and evaluate one message and save its sequence, in one transaction."""
        self._commit([message])

    def _commit(self, messages: Sequence[StreamMessage]) -> None:
        last = messages[-1]
        owner = self.leases[last.partition] if self.leases is not None else None
        lease = owner.require() if owner is not None else None  # NotOwner: another holds it

        def work(tx: StoreSession) -> list[ObservationBatch]:
            if owner is not None:
                tx.leases.fence(owner.name, lease)
            batches = []
            for message in messages:
                where = f"partition {message.partition} sequence {message.sequence}"
                rows = decode(message.data, where=where)
                raw = RawObservations(
                    rows.codes, rows.times, rows.values, code_index=rows.code_index
                )
                batches.append(to_batch(raw, self.ingest.rules.ids, source=where))
            tx.checkpoints.save_stream_offset(last.partition, last.sequence)
            return batches

        try:
            self.ingest.ingest_along(work)
        except BaseException as err:
            if isinstance(err, NotOwner) and owner is not None and lease is not None:
                owner.lost(lease)
            self.resume()  # the transaction's outcome decides where to go on from
            raise
        self.offsets[last.partition] = last.sequence
        self.committed += len(messages)

    def run(self, stop: threading.Event, *, idle_s: float = 0.05) -> None:
        """Work until `stop` is set; failures are logged and retried after a pause (a message
        that cannot be stored holds its partition up rather than being skipped)."""
        self.offsets = {}  # read again by the first pass
        while not stop.is_set():
            try:
                done = self.run_once()
            except NotOwner as err:
                if self.balance is None:  # partitions given by hand: two owners; stop, loudly
                    raise
                log.warning("a partition was lost to another worker: %s", err)
                continue
            except Unavailable as err:
                self._failed("unavailable", err)
                log.warning("stream or database unavailable: %s", err)
            except InvalidInput as err:
                self._failed("a message cannot be stored", err)
                log.error("a stream message cannot be stored (its partition waits): %s", err)
            except Exception as err:
                self._failed("failed", err)
                log.exception("stream worker failed; retrying")
            else:
                self.failing, self.last_pass = None, time.monotonic()
                if done == 0:
                    stop.wait(idle_s)
                continue
            stop.wait(BACKOFF_S)

    def _failed(self, what: str, err: Exception) -> None:
        self.failing = f"{what}: {err}"[:500]

    def status(self, *, stale_after_s: float = 30.0) -> WorkerStatus:
        """How the loop is doing, for a health check: healthy while its passes work (a pass
        ends at least every fetch wait, so none for `stale_after_s` means it is stuck)."""
        age = None if self.last_pass is None else time.monotonic() - self.last_pass
        reason = self.failing
        if reason is None and (age is None or age > stale_after_s):
            reason = "no pass yet" if age is None else f"no pass for {age:.0f} s"
        return WorkerStatus(
            healthy=reason is None,
            reason=reason or "",
            partitions=self.partitions,
            offsets=dict(self.offsets),
            committed=self.committed,
            moves=self.moves,
        )


@dataclass(frozen=True)
class WorkerStatus:
    """A worker's state, as its health check and metrics show it."""

    healthy: bool
    reason: str  # why not, when not
    partitions: tuple[int, ...]
    offsets: dict[int, int]  # the committed sequence of each owned partition
    committed: int  # messages committed by this process
    moves: int  # times its partitions changed

"""Stream worker: the worker role's loop over the partitions of the ingest stream it owns.

For each message, in stream order per partition, ONE database transaction stores its
observations, runs the threshold and detector rules (the same `IngestService` pass as a
single process), records the warning transitions and saves the message's sequence as the
partition's offset (`CheckpointStore.save_stream_offset`). Only then is the message
acknowledged to the stream. On start, and after any failed transaction, the worker reads
from the sequences committed in the database, not from what the stream believes was
acknowledged: a message committed but not acknowledged (a kill in between) is skipped when it
comes again, and one acknowledged but not committed cannot exist. So nothing acknowledged to a
client is lost and nothing is stored or evaluated twice.

Partitions are assigned statically (`tocsin worker --partitions`); moving them between
workers (rebalancing) is not built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from tocsin.core.errors import InvalidInput, Unavailable
from tocsin.core.observations import ObservationBatch
from tocsin.core.stream_rows import decode
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
    ) -> None:
        self.ingest = ingest
        self.reader = reader
        self.partitions = tuple(partitions)
        self.batch = batch
        self.offsets: dict[int, int] = {}
        self.committed = 0  # messages committed by this process

    def resume(self) -> dict[int, int]:
        """Read the committed offsets of the owned partitions from the database."""
        with self.ingest.store.transaction() as tx:
            stored = tx.checkpoints.stream_offsets()
        self.offsets = {p: stored.get(p, 0) for p in self.partitions}
        return dict(self.offsets)

    def run_once(self) -> int:
        """Read each owned partition once and commit what came; the messages committed."""
        done = 0
        for partition in self.partitions:
            after = self.offsets[partition]
            for message in self.reader.read(partition, after=after, limit=self.batch):
                if message.sequence <= self.offsets[partition]:
                    self.reader.acknowledge(message)  # committed before: a redelivery
                    continue
                self.commit(message)
                self.reader.acknowledge(message)
                done += 1
        return done

    def commit(self, message: StreamMessage) -> None:
        """Store and evaluate one message and save its sequence, in one transaction."""
        where = f"partition {message.partition} sequence {message.sequence}"

        def work(tx: StoreSession) -> ObservationBatch:
            rows = decode(message.data, where=where)
            raw = RawObservations(rows.codes, rows.times, rows.values, code_index=rows.code_index)
            tx.checkpoints.save_stream_offset(message.partition, message.sequence)
            return to_batch(raw, self.ingest.rules.ids, source=where)

        try:
            self.ingest.ingest_along(work)
        except BaseException:
            self.resume()  # the transaction's outcome decides where to go on from
            raise
        self.offsets[message.partition] = message.sequence
        self.committed += 1

    def run(self, stop: threading.Event, *, idle_s: float = 0.05) -> None:
        """Work until `stop` is set; failures are logged and retried after a pause (a message
        that cannot be stored holds its partition up rather than being skipped)."""
        self.resume()
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(idle_s)
            except Unavailable as err:
                log.warning("stream or database unavailable: %s", err)
                stop.wait(BACKOFF_S)
            except InvalidInput as err:
                log.error("a stream message cannot be stored (its partition waits): %s", err)
                stop.wait(BACKOFF_S)
            except Exception:
                log.exception("stream worker failed; retrying")
                stop.wait(BACKOFF_S)

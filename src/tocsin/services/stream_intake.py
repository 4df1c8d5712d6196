"""Stream intake: the API role's commit of accepted observation batches, as an append to the
ingest stream instead of a database transaction.

The group committer (`services/group_commit.py`) hands it the valid batches of concurrent
requests; each batch is split by partition (`core/stream_partitions.py`), every part is
appended, and the requests are answered once the stream has acknowledged every part of the
group durably. A worker evaluates the rules later (`services/stream_worker.py`), so the
answer counts what was received and reports no evaluation (`evaluated` and
`warnings_changed` are 0).

A batch spanning several partitions is several messages, and the stream cannot append them
atomically: when it fails part-way the request is answered 503 and the parts already
appended stay. Each part's id is the hash of its bytes (`core/stream_rows.py`), so a client's
retry of the same batch within the stream's duplicate window appends only the missing parts,
and after it, rows appended twice change nothing (an observation is stored once per indicator
and time, and a time not newer than its indicator's last is not evaluated again).
"""

from __future__ import annotations

import logging

import numpy as np

from tocsin.core.observations import ObservationBatch
from tocsin.core.stream_partitions import partition_table, rows_by_partition
from tocsin.core.stream_rows import encode, message_id, rows_of
from tocsin.ports.stream import ObservationStream, StreamPart
from tocsin.services.ingest import IngestResult
from tocsin.services.rules import RuleBook

log = logging.getLogger(__name__)


class StreamIntake:
    """Appends accepted batches to the ingest stream, by partition."""

    def __init__(self, stream: ObservationStream, rules: RuleBook, *, partitions: int) -> None:
        self.stream = stream
        self.partitions = partitions
        codes = [rules.by_id[i].code if i in rules.by_id else "" for i in range(rules.size)]
        self.names = np.array(codes)
        self.table = partition_table(self.names.tolist(), partitions)

    def parts(self, batch: ObservationBatch) -> list[StreamPart]:
        """The batch's rows per partition, encoded, each under its content's id."""
        out = []
        for partition, rows in rows_by_partition(batch.series, self.table).items():
            data = encode(
                rows_of(
                    self.names,
                    batch.series[rows],
                    times=batch.times[rows],
                    values=batch.values[rows],
                )
            )
            out.append(StreamPart(partition, message_id(partition, data), data))
        return out

    def append_group(self, batches: list[ObservationBatch]) -> list[IngestResult]:
        """Append every part of every batch (one wait for all acknowledgements); one result
        per batch. Unavailable if the stream did not acknowledge them all."""
        self.stream.append([part for batch in batches for part in self.parts(batch)])
        return [IngestResult(len(b), len(b), 0) for b in batches]

    def close(self) -> None:
        """Let go of the stream."""
        self.stream.close()

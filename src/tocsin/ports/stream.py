"""Port: the ingest stream between API processes and workers (NATS JetStream in production).

API processes append accepted observation batches, split by partition; each worker reads the
partitions it owns, in order, from the sequence after the one it last committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StreamPart:
    """A batch's rows of one partition, under the id that makes appending it idempotent."""

    partition: int
    message_id: str  # the stream drops a second append of the same id (its duplicate window)
    data: bytes  # the rows' wire bytes (tocsin.core.stream_rows)


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One appended part as a worker reads it: its partition and stream sequence."""

    partition: int
    sequence: int
    data: bytes


class ObservationStream(Protocol):
    """Where API processes append accepted batches."""

    def append(self, parts: Sequence[StreamPart]) -> None:
        """Append every part and return once the stream holds each durably; Unavailable (to
        try again later under the same ids) if it cannot say so."""

    def close(self) -> None:
        """Let go of the connection."""


class StreamReader(Protocol):
    """How a worker reads its partitions."""

    def read(self, partition: int, *, after: int, limit: int) -> list[StreamMessage]:
        """Up to `limit` messages of `partition` with sequences after `after`, oldest first
        (none if none arrived within a short wait); Unavailable if the stream cannot be read."""

    def acknowledge(self, messages: Sequence[StreamMessage]) -> None:
        """Tell the stream these messages are committed (it may then stop redelivering them);
        a lost acknowledgement is harmless, the committed offset covers it."""

    def release(self, partitions: Sequence[int]) -> None:
        """Stop reading these partitions (given up to another worker, which reads them on
        from the offset committed in the database)."""

    def close(self) -> None:
        """Let go of the connection."""

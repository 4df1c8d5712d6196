"""Observations on SQL: writes held back per transaction and written together in key order."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import DialectWriter, ObservationWriter, raw_connection
from tocsin.core.observations import ObservationBatch


@dataclass
class WriteBuffer:
    """Observation batches of one transaction held back to be written together in key order.

    Written together, each indicator's rows of several batches are consecutive, so one B-tree
    leaf takes them in a row (5 M rows at once against 1 M: about a tenth less time on
    PostgreSQL). A key given more than once keeps its latest value, as the upsert would.
    """

    limit: int = 5_000_000
    batches: list[ObservationBatch] = field(default_factory=list)
    hints: list[npt.NDArray[np.bool_] | None] = field(default_factory=list)
    rows: int = 0

    def add(self, batch: ObservationBatch, new: npt.NDArray[np.bool_] | None) -> bool:
        """Hold a batch back; True when the buffer is full and should be written."""
        self.batches.append(batch)
        self.hints.append(new)
        self.rows += len(batch)
        return self.rows >= self.limit

    def take(self) -> tuple[ObservationBatch, npt.NDArray[np.bool_] | None] | None:
        """Everything held, in (indicator, time) order, each key once; empties the buffer."""
        if not self.batches:
            return None
        batches, hints = self.batches, self.hints
        self.batches, self.hints, self.rows = [], [], 0
        merged = ObservationBatch(
            np.concatenate([b.series for b in batches]),
            np.concatenate([b.times for b in batches]),
            np.concatenate([b.values for b in batches]),
        )
        new = None
        if any(h is not None for h in hints):  # unknown counts as not new: it takes the merge
            new = np.concatenate(
                [
                    h if h is not None else np.zeros(len(b), np.bool_)
                    for b, h in zip(batches, hints, strict=True)
                ]
            )
        # lexsort is stable: equal keys stay in arrival order, and the last one is kept
        rows = merged.last_per_key(np.lexsort((merged.times, merged.series)))
        return merged.take(rows), (new[rows] if new is not None else None)


class SqlObservations:
    """The ObservationStore port in one transaction."""

    def __init__(self, conn: Connection, writer: DialectWriter, *, buffer_rows: int) -> None:
        self.conn = conn
        self.writer = writer
        self.buffer = WriteBuffer(buffer_rows)
        self._open: ObservationWriter | None = None

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None = None) -> None:
        """Upsert a deduplicated batch (executemany on SQLite, binary COPY on PostgreSQL).

        `new` marks rows the caller knows are not stored yet (newer than anything stored for
        their indicator); PostgreSQL COPYs those straight into the table. Batches are held back
        and written together in key order (see WriteBuffer); reads in the same transaction see
        them.
        """
        if len(batch) and self.buffer.add(batch, new):
            self._write_buffered()

    def _write_buffered(self) -> None:
        held = self.buffer.take()
        if held is None:
            return
        if self._open is None:
            self._open = self.writer.observation_writer(raw_connection(self.conn))
        self._open.write(held[0], new=held[1])

    def finish(self) -> None:
        """Write what is held back and complete the writes (before a read, before commit)."""
        self._write_buffered()
        if self._open is not None:
            self._open.finish()

    def read(
        self,
        indicator_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """Observations of one indicator in time order."""
        self.finish()
        o = t.observations
        query = select(o.c.ts, o.c.value).where(o.c.indicator_id == indicator_id)
        if since is not None:
            query = query.where(o.c.ts >= since)
        if until is not None:
            query = query.where(o.c.ts <= until)
        rows = self.conn.execute(query.order_by(o.c.ts).limit(limit)).all()
        times = np.array([r[0] for r in rows], dtype=np.int64)
        values = np.array([r[1] for r in rows], dtype=np.float64)
        return ObservationBatch(np.full(len(rows), indicator_id, dtype=np.int64), times, values)

    def count(self) -> int:
        """Number of stored observations."""
        self.finish()
        return int(self.conn.execute(select(func.count()).select_from(t.observations)).scalar_one())

    def newest_times(self) -> dict[int, int]:
        """Indicator id -> time of its newest stored observation, one index probe per indicator
        (a GROUP BY would read every stored row, making start-up grow with the history)."""
        self.finish()
        return self.writer.newest_times(self.conn)

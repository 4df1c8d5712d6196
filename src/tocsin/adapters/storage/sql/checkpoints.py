"""Rule state, named checkpoints and stream offsets on SQL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, insert, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import DialectWriter, raw_connection
from tocsin.adapters.storage.sql.observations import SqlObservations
from tocsin.adapters.storage.stream_offset_tables import stream_offsets
from tocsin.core.rules.thresholds import N_LEVELS, ThresholdState

ID_CHUNK = 10_000  # ids a query names at once


class SqlCheckpoints:
    """The CheckpointStore port in one transaction."""

    def __init__(
        self, conn: Connection, writer: DialectWriter, *, observations: SqlObservations
    ) -> None:
        self.conn = conn
        self.writer = writer
        self.observations = observations

    def load_thresholds(self, n: int, ids: Sequence[int] | None = None) -> ThresholdState:
        """State rows for series 0..n-1 (missing rows are fresh).

        The last processed time of a series is the newest observation stored for it: every
        stored observation was evaluated in the transaction that stored it, so the rule state
        only needs saving when a level or a since-moment changes.
        """
        state = ThresholdState.empty(n)
        rows = t.threshold_state
        if ids is None:
            queries = [select(rows)]
        else:  # by the primary key, in chunks within both databases' parameter limits
            chosen = sorted({int(i) for i in ids})
            queries = [
                select(rows).where(rows.c.indicator_id.in_(chosen[k : k + ID_CHUNK]))
                for k in range(0, len(chosen), ID_CHUNK)
            ]
        for r in (r for query in queries for r in self.conn.execute(query)):
            if r.indicator_id < n:
                state.level[r.indicator_id] = r.level
                state.last_time[r.indicator_id] = r.last_ts
                state.above_since[r.indicator_id] = np.frombuffer(r.above, dtype="<i8")
                state.below_since[r.indicator_id] = np.frombuffer(r.below, dtype="<i8")
        for ident, ts in self.observations.newest_times(ids).items():
            if ident < n:
                state.last_time[ident] = max(int(state.last_time[ident]), ts)
        return state

    def save_thresholds(self, series: npt.NDArray[np.int64], state: ThresholdState) -> None:
        """Upsert the state rows of the given series."""
        if len(series) == 0:
            return
        width = f"V{8 * N_LEVELS}"
        above = np.ascontiguousarray(state.above_since[series], dtype="<i8").view(width)
        below = np.ascontiguousarray(state.below_since[series], dtype="<i8").view(width)
        rows = list(
            zip(
                series.tolist(),
                state.level[series].tolist(),
                state.last_time[series].tolist(),
                [bytes(b) for b in above.ravel()],
                [bytes(b) for b in below.ravel()],
                strict=True,
            )
        )
        self.writer.save_threshold_rows(raw_connection(self.conn), rows)

    def load(self, name: str) -> bytes | None:
        """A named checkpoint blob (detector and score-rule state), if any."""
        c = t.rule_checkpoints
        row = self.conn.execute(select(c.c.data).where(c.c.name == name)).first()
        return bytes(row[0]) if row else None

    def save(self, name: str, data: bytes) -> None:
        """Replace a named checkpoint blob."""
        c = t.rule_checkpoints
        self.conn.execute(c.delete().where(c.c.name == name))
        self.conn.execute(insert(c), [{"name": name, "data": data}])

    def stream_offsets(self) -> dict[int, int]:
        """The last committed sequence per partition of the ingest stream."""
        o = stream_offsets
        return {
            int(r.partition): int(r.sequence)
            for r in self.conn.execute(select(o.c.partition, o.c.sequence))
        }

    def save_stream_offset(self, partition: int, sequence: int) -> None:
        """Replace a partition's committed sequence."""
        o = stream_offsets
        self.conn.execute(o.delete().where(o.c.partition == partition))
        self.conn.execute(insert(o), [{"partition": partition, "sequence": sequence}])

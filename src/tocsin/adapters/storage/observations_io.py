"""Fast bulk writes of observations: SQLite executemany, PostgreSQL binary COPY."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.observations import ObservationBatch

SQLITE_UPSERT = (
    "INSERT INTO observations (indicator_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (indicator_id, ts) DO UPDATE SET value = excluded.value"
)

PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS observations_stage "
    "(indicator_id integer, ts bigint, value double precision) ON COMMIT DELETE ROWS"
)
PG_MERGE = (
    "INSERT INTO observations (indicator_id, ts, value) "
    "SELECT indicator_id, ts, value FROM observations_stage "
    "ON CONFLICT (indicator_id, ts) DO UPDATE SET value = EXCLUDED.value"
)

PG_COPY_DIRECT = "COPY observations (indicator_id, ts, value) FROM STDIN (FORMAT BINARY)"

_PG_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l1", ">i4"),
        ("id", ">i4"),
        ("l2", ">i4"),
        ("ts", ">i8"),
        ("l3", ">i4"),
        ("v", ">f8"),
    ]
)
_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PG_TRAILER = b"\xff\xff"


def sqlite_write(dbapi_connection: Any, batch: ObservationBatch) -> None:
    """Upsert a batch with one executemany on the raw sqlite3 connection."""
    rows = zip(batch.series.tolist(), batch.times.tolist(), batch.values.tolist(), strict=True)
    dbapi_connection.executemany(SQLITE_UPSERT, rows)


def pg_copy_payload(batch: ObservationBatch) -> bytes:
    """The batch in PostgreSQL's binary COPY format (int4, int8, float8 per row)."""
    rows = np.empty(len(batch), dtype=_PG_ROW)
    rows["n"] = 3
    rows["l1"] = 4
    rows["id"] = batch.series
    rows["l2"] = 8
    rows["ts"] = batch.times
    rows["l3"] = 8
    rows["v"] = batch.values
    return _PG_HEADER + rows.tobytes() + _PG_TRAILER


def pg_write(dbapi_connection: Any, batch: ObservationBatch, *, new: Any = None) -> None:
    """Write a batch: rows known to be new are COPYed straight into the table; the rest (or all,
    when nothing is known) are COPYed into a staging table and merged with ON CONFLICT.

    If a row believed new is in fact stored already (another writer), the direct COPY fails
    inside a savepoint and the whole batch takes the merge path instead.
    """
    import psycopg

    with dbapi_connection.cursor() as cur:
        rest = batch
        if new is not None and new.any():
            fresh = batch.take(new)
            try:
                with dbapi_connection.transaction(), cur.copy(PG_COPY_DIRECT) as copy:
                    copy.write(pg_copy_payload(fresh))
                rest = batch.take(~new)
            except psycopg.errors.UniqueViolation:
                rest = batch
        if len(rest) == 0:
            return
        cur.execute(PG_STAGE)
        with cur.copy(
            "COPY observations_stage (indicator_id, ts, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(pg_copy_payload(rest))
        cur.execute(PG_MERGE)
        cur.execute("TRUNCATE observations_stage")


def pg_copy_merge(
    dbapi_connection: Any,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    key: str,
) -> None:
    """Upsert many rows through COPY into a temporary twin of `table` and one merge."""
    stage = f"{table}_stage"
    cols = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    with dbapi_connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608 - fixed names
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        cur.execute(f"TRUNCATE {stage}")


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

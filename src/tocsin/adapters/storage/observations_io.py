"""Fast bulk writes of observations: SQLite executemany, PostgreSQL binary COPY."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def pg_write(dbapi_connection: Any, batch: ObservationBatch) -> None:
    """COPY a batch into a staging table, then merge it with ON CONFLICT."""
    with dbapi_connection.cursor() as cur:
        cur.execute(PG_STAGE)
        with cur.copy(
            "COPY observations_stage (indicator_id, ts, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(pg_copy_payload(batch))
        cur.execute(PG_MERGE)
        cur.execute("TRUNCATE observations_stage")

"""PostgreSQL bulk writes: binary COPY of observations, COPY-and-merge upserts of other rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from tocsin.core.observations import ObservationBatch

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

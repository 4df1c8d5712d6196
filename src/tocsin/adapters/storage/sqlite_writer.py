"""SQLite: executemany writes, and short write transactions for the warning pipeline.

SQLite has one writer at a time. The ingest path holds the write lock for most of each batch, so
the warning pipeline uses an engine of its own (same file, its own pool) and takes the lock with
`BEGIN IMMEDIATE` only for the final burst of a session's writes, polling for it every half
millisecond (SQLite's own busy handler sleeps up to 100 ms between tries, which starves a second
writer). Ids become visible in order (one writer), so the change feed needs no horizon.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, Select, Table, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import newest_per_indicator
from tocsin.core.observations import ObservationBatch

LOCK_POLL_S = 0.0005
LOCK_WAIT_S = 60.0
READ_BUSY_MS = 5000  # reads (and statements inside the held lock) wait with SQLite's handler

OBSERVATION_UPSERT = (
    "INSERT INTO observations (indicator_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (indicator_id, ts) DO UPDATE SET value = excluded.value"
)
STATE_UPSERT = (
    "INSERT INTO threshold_state (indicator_id, level, last_ts, above, below) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (indicator_id) DO UPDATE SET "
    "level = excluded.level, last_ts = excluded.last_ts, above = excluded.above, "
    "below = excluded.below"
)


class SqliteObservationWriter:
    """Upserts each batch with one executemany on the raw sqlite3 connection."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None) -> None:
        """Upsert the rows (SQLite gains nothing from knowing which are new)."""
        rows = zip(batch.series.tolist(), batch.times.tolist(), batch.values.tolist(), strict=True)
        self.raw.executemany(OBSERVATION_UPSERT, rows)

    def finish(self) -> None:
        """Nothing is left open."""


def _pipeline_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()  # journal_mode=WAL is set (persistently) by the main engine
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout = {READ_BUSY_MS}")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock, polling briefly instead of SQLite's coarse busy sleeps."""
    deadline = time.monotonic() + LOCK_WAIT_S
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as err:
                locked = "locked" in str(err) or "busy" in str(err)
                if not locked or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_POLL_S)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {READ_BUSY_MS}")


class SqliteWriter:
    """The SQLite side of `DialectWriter`."""

    def observation_writer(self, raw: Any) -> SqliteObservationWriter:
        """Executemany upserts."""
        return SqliteObservationWriter(raw)

    def newest_times(self, conn: Connection) -> dict[int, int]:
        """One index probe per indicator."""
        found = conn.execute(newest_per_indicator(t.observations))
        return {ident: ts for ident, ts in found if ts is not None}

    def save_threshold_rows(self, raw: Any, rows: list[tuple[Any, ...]]) -> None:
        """One executemany."""
        raw.executemany(STATE_UPSERT, rows)

    def insert(self, table: Table) -> Any:
        """SQLite's INSERT … ON CONFLICT."""
        return sqlite_insert(table)

    def pipeline_engine(self, engine: Engine) -> Engine:
        """Its own engine on the same file (its own small pool of connections)."""
        own = create_engine(
            engine.url,
            connect_args={"timeout": READ_BUSY_MS / 1000, "check_same_thread": False},
            poolclass=QueuePool,
            pool_size=4,
            max_overflow=12,
        )
        event.listen(own, "connect", _pipeline_pragmas)
        return own

    def begin_writes(self, conn: Connection) -> None:
        """End the reads' implicit transaction and take the write lock."""
        conn.rollback()
        _begin_immediate(conn)

    def feed_horizon(self, conn: Connection) -> tuple[int, int] | None:
        """None: ids become visible in order, a gap is a rollback."""
        return None

    def lock_due(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """The due rows, read again under the write lock once there are any (so no other
        worker claims them meanwhile; nothing is locked when none are due)."""
        if conn.execute(query.limit(1)).first() is None:
            conn.rollback()
            return []
        conn.rollback()
        _begin_immediate(conn)
        return list(conn.execute(query).mappings())

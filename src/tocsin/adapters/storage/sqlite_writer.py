"""SQLite: executemany writes, the observation inbox, and short write transactions for the
warning pipeline.

Observations are clustered by (indicator, time), so a write of one moment of many indicators
dirties one B-tree page per indicator: committed every few milliseconds (the API's group
commits), that is a page written per observation. Writes under `APPEND_BELOW` rows therefore go
to `observation_inbox`, a table in arrival order (appends fill a page with about a hundred
rows), and once it holds `MERGE_AT` rows it is merged into `observations` in key order, inside
the transaction that filled it. A writer that can do it later, off its callers' answers (the
API's group committer, after answering a group), merges it in a transaction of its own once it
holds `SETTLE_AT` rows (`settle`), so the merge rarely falls inside a write. A bulk write merges
the inbox first, then writes directly. Reads see both (the inbox's rows are the newer ones).

Rows are appended `APPEND_ROWS` to a statement (`INSERT … VALUES (…), (…), …`): the driver binds
a statement's parameters in one call and SQLite steps once for all its rows, where executemany
binds and steps row by row, letting go of the interpreter lock and taking it back each time
(half the CPU per row, measured, and far fewer hand-overs of the lock to the event loop).

SQLite has one writer at a time. The ingest path holds the write lock for most of each batch, so
the warning pipeline uses an engine of its own (same file, its own pool) and takes the lock with
`BEGIN IMMEDIATE` only for the final burst of a session's writes, polling for it every half
millisecond (SQLite's own busy handler sleeps up to 100 ms between tries, which starves a second
writer). The pipeline's threads of one process take turns at polling (`write_gate`). Ids
become visible in order (one writer), so the change feed needs no horizon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, Select, Table, create_engine, delete, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import newest_per_indicator, raw_connection
from tocsin.adapters.storage.json_columns import json_loads
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement
from tocsin.core.observations import ObservationBatch

LOCK_POLL_S = 0.0005
LOCK_WAIT_S = 60.0
READ_BUSY_MS = 5000  # reads (and statements inside the held lock) wait with SQLite's handler

OBSERVATION_UPSERT = (
    "INSERT INTO observations (indicator_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (indicator_id, ts) DO UPDATE SET value = excluded.value"
)
INBOX_APPEND = "INSERT INTO observation_inbox (indicator_id, ts, value) VALUES (?, ?, ?)"
INBOX_MERGE = (
    "INSERT INTO observations (indicator_id, ts, value) "
    "SELECT indicator_id, ts, value FROM observation_inbox ORDER BY indicator_id, ts, seq "
    "ON CONFLICT (indicator_id, ts) DO UPDATE SET value = excluded.value"
)
INBOX_SIZE = (  # two index probes (one query's max and min together would scan)
    "SELECT coalesce((SELECT max(seq) FROM observation_inbox) "
    "- (SELECT min(seq) FROM observation_inbox) + 1, 0)"
)
INBOX_NEWEST = "SELECT indicator_id, max(ts) FROM observation_inbox GROUP BY indicator_id"
INBOX_NEW_KEYS = (
    "SELECT count(*) FROM (SELECT DISTINCT indicator_id, ts FROM observation_inbox) AS i "
    "WHERE NOT EXISTS (SELECT 1 FROM observations AS o "
    "WHERE o.indicator_id = i.indicator_id AND o.ts = i.ts)"
)
APPEND_BELOW = 100_000
MERGE_AT = 500_000
SETTLE_AT = 400_000
APPEND_ROWS = 256  # rows in one INSERT (768 parameters: under 999, the oldest builds' limit)
STATE_UPSERT = (
    "INSERT INTO threshold_state (indicator_id, level, last_ts, above, below) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (indicator_id) DO UPDATE SET "
    "level = excluded.level, last_ts = excluded.last_ts, above = excluded.above, "
    "below = excluded.below"
)


def merge_inbox(raw: Any) -> None:
    """Move the inbox into `observations` in key order (a key held twice: the later value)."""
    raw.execute(INBOX_MERGE)
    raw.execute("DELETE FROM observation_inbox")


def inbox_size(raw: Any) -> int:
    """Rows in the inbox (at most: the span of its sequence numbers)."""
    return int(raw.execute(INBOX_SIZE).fetchone()[0])


def _appends(rows: int) -> str:
    return INBOX_APPEND.removesuffix("(?, ?, ?)") + ", ".join(["(?, ?, ?)"] * rows)


_APPEND_SQL = {1 << i: _appends(1 << i) for i in range(APPEND_ROWS.bit_length())}


def append_rows(raw: Any, batch: ObservationBatch) -> None:
    """Append a batch to the inbox in arrival order, `APPEND_ROWS` rows to a statement (the
    rest in statements of 128, 64, … rows: a few statement texts, each prepared once)."""
    flat = np.empty((len(batch), 3), dtype=object)  # the rows' parameters one after the other
    flat[:, 0], flat[:, 1], flat[:, 2] = batch.series, batch.times, batch.values
    params: list[Any] = flat.ravel().tolist()  # Python ints and floats, as the driver binds
    done, left = 0, len(batch)
    while left:
        rows = APPEND_ROWS if left >= APPEND_ROWS else 1 << (left.bit_length() - 1)
        raw.execute(_APPEND_SQL[rows], params[3 * done : 3 * (done + rows)])
        done, left = done + rows, left - rows


class SqliteObservationWriter:
    """Appends small batches to the inbox (many rows to a statement) and upserts large ones
    (one executemany)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.appended = False

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None) -> None:
        """Append or upsert the rows (SQLite gains nothing from knowing which are new)."""
        if len(batch) < APPEND_BELOW:
            append_rows(self.raw, batch)
            self.appended = True
            return
        merge_inbox(self.raw)  # older rows first, so that the newer values win
        rows = zip(batch.series.tolist(), batch.times.tolist(), batch.values.tolist(), strict=True)
        self.raw.executemany(OBSERVATION_UPSERT, rows)

    def finish(self) -> None:
        """Merge the inbox once it is large."""
        if self.appended and inbox_size(self.raw) >= MERGE_AT:
            merge_inbox(self.raw)
        self.appended = False

    def settle(self) -> int:
        """Merge the inbox if it holds `SETTLE_AT` rows; how many it held (0: not merged)."""
        held = inbox_size(self.raw)
        if held < SETTLE_AT:
            return 0
        merge_inbox(self.raw)
        return held


def _pipeline_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()  # journal_mode=WAL is set (persistently) by the main engine
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout = {READ_BUSY_MS}")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock, polling briefly instead of SQLite's coarse busy sleeps (on the
    driver: the pipeline takes it for every session that writes)."""
    drv = Driver(conn)  # SQLAlchemy's transaction begun, so that its commit ends this one
    deadline = time.monotonic() + LOCK_WAIT_S
    drv.run(_NO_WAIT)
    try:
        while True:
            try:
                drv.run(_BEGIN)
                return
            except OperationalError as err:
                locked = "locked" in str(err) or "busy" in str(err)
                if not locked or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_POLL_S)
    finally:
        drv.run(_WAIT)


_BEGIN = DriverStatement("BEGIN IMMEDIATE")
_HOLD_LEASE = DriverStatement(
    "UPDATE leases SET token = token WHERE name = ? AND holder = ? AND token = ?"
)
_NO_WAIT = DriverStatement("PRAGMA busy_timeout = 0")
_WAIT = DriverStatement(f"PRAGMA busy_timeout = {READ_BUSY_MS}")


class SqliteWriter:
    """The SQLite side of `DialectWriter`."""

    def observation_writer(self, raw: Any) -> SqliteObservationWriter:
        """Executemany upserts."""
        return SqliteObservationWriter(raw)

    def newest_times(self, conn: Connection, ids: Sequence[int] | None = None) -> dict[int, int]:
        """One index probe per indicator, and the inbox's newest (with `ids`, the same probes,
        kept for those: one SQLite process serves a city, not a worker's share of a nation)."""
        found = conn.execute(newest_per_indicator(t.observations))
        newest = {ident: ts for ident, ts in found if ts is not None}
        for ident, ts in conn.exec_driver_sql(INBOX_NEWEST):
            newest[ident] = max(ts, newest.get(ident, ts))
        if ids is None:
            return newest
        wanted = {int(i) for i in ids}
        return {ident: ts for ident, ts in newest.items() if ident in wanted}

    def held(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """Rows of an inbox query, in arrival order."""
        return list(conn.execute(query.order_by(t.observation_inbox.c.seq)))

    def held_new_keys(self, conn: Connection) -> int:
        """Keys in the inbox not yet in `observations`."""
        return int(conn.exec_driver_sql(INBOX_NEW_KEYS).scalar_one())

    def begin_retention(self, conn: Connection) -> None:
        """Merge the inbox into `observations` (SQLite has one writer at a time already)."""
        merge_inbox(raw_connection(conn))

    def drop_observations(self, conn: Connection, before: int) -> int:
        """One DELETE."""
        o = t.observations
        return int(conn.execute(delete(o).where(o.c.ts < before)).rowcount)

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
            json_deserializer=json_loads,
        )
        event.listen(own, "connect", _pipeline_pragmas)
        return own

    def write_gate(self) -> AbstractContextManager[Any]:
        """A lock held while taking SQLite's write lock: one thread of the process polls for it
        at a time, the others queue here (a refused `BEGIN IMMEDIATE` costs as much as a
        statement; in a storm, the threads of `notify run` polled each other for a tenth of its
        time). It is let go once the write lock is taken, not held to the commit: then the
        next thread polls beside the other processes' writers, and the API's writer keeps an
        even chance at the lock (a gate held to the commit handed the lock from one pipeline
        thread to the next)."""
        return threading.Lock()

    def begin_writes(self, conn: Connection) -> None:
        """End the reads' implicit transaction and take the write lock."""
        conn.rollback()
        _begin_immediate(conn)

    def exclusive(self, conn: Connection, name: str) -> None:
        """SQLite's one write lock, taken at once (not on the first write, when another
        process may have committed since this transaction's first read). The driver begins a
        transaction only at the first write, which takes the lock: when one is open, the
        lock is held already."""
        if not raw_connection(conn).in_transaction:
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

    def hold_lease(self, conn: Connection, *, name: str, holder: str, token: int) -> bool:
        """A no-op UPDATE of the row: it takes (or runs under) the one write lock. On the
        driver: every group commit of observations runs it."""
        return Driver(conn).changed(_HOLD_LEASE, (name, holder, token)) == 1

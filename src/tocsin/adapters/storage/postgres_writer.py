"""PostgreSQL: COPY writes into weekly partitions, and the visibility rules of its sequences.

Observations go through `partitions.PgObservationWriter` (a week new to the database is bulk
loaded and indexed at commit; other weeks take COPY and a staging merge). Rule state is upserted
through COPY into a temporary twin and one merge. The warning pipeline shares the main engine.

A sequence value can become visible after a higher one, so the change feed needs the snapshot's
horizon (see sql/feed.py). Due notifications are claimed with FOR UPDATE SKIP LOCKED, so several
delivery workers never take the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import newest_per_indicator, raw_connection
from tocsin.adapters.storage.partitions import (
    PgObservationWriter,
    attached_weeks,
    partition_bounds,
    partition_name,
    partition_table,
)
from tocsin.adapters.storage.postgres_copy import pg_copy_merge
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement

STATE_COLUMNS = ("indicator_id", "level", "last_ts", "above", "below")
RETENTION_LOCK = 0x7C52_0001  # pg_advisory_xact_lock key of the observation retention run
_HOLD_LEASE = DriverStatement(
    "SELECT token FROM leases WHERE name = ? AND holder = ? AND token = ? FOR SHARE"
)


class PostgresWriter:
    """The PostgreSQL side of `DialectWriter`."""

    def __init__(self) -> None:
        self.attached_weeks: set[int] = set()  # partitions seen attached: none is ever detached

    def observation_writer(self, raw: Any) -> PgObservationWriter:
        """Week partitions, bulk-loaded when new."""
        return PgObservationWriter(raw, attached=self.attached_weeks)

    def newest_times(self, conn: Connection, ids: Sequence[int] | None = None) -> dict[int, int]:
        """The weeks probed newest first, each only for the indicators still missing (of
        `ids`, when given)."""
        newest: dict[int, int] = {}
        left: list[int] | None = None if ids is None else [int(i) for i in ids]
        if left == []:
            return newest
        for week in attached_weeks(raw_connection(conn)):
            query = newest_per_indicator(partition_table(week))
            if left is not None:  # one array parameter: the protocol allows 65,535 in all
                missing = bindparam("left", left, ARRAY(Integer))
                query = query.where(t.indicators.c.id == any_(missing))
            rows = list(conn.execute(query))
            newest.update({ident: ts for ident, ts in rows if ts is not None})
            left = [ident for ident, ts in rows if ts is None]
            if not left:
                break
        return newest

    def held(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """Nothing: observations are written in place."""
        return []

    def held_new_keys(self, conn: Connection) -> int:
        """Nothing is held."""
        return 0

    def begin_retention(self, conn: Connection) -> None:
        """One run at a time: an advisory lock held until the transaction ends."""
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({RETENTION_LOCK})")

    def drop_observations(self, conn: Connection, before: int) -> int:
        """Weeks wholly older than `before` are emptied by TRUNCATE (their partitions stay
        attached: every process may have seen them attached, and writes rely on it); the rest
        by DELETE."""
        gone = 0
        for week in attached_weeks(raw_connection(conn)):
            if partition_bounds(week)[1] > before:
                continue
            counted = select(func.count()).select_from(partition_table(week))
            gone += int(conn.execute(counted).scalar_one())
            conn.exec_driver_sql(f"TRUNCATE {partition_name(week)}")  # a name from a number
        o = t.observations
        return gone + int(conn.execute(delete(o).where(o.c.ts < before)).rowcount)

    def save_threshold_rows(self, raw: Any, rows: list[tuple[Any, ...]]) -> None:
        """COPY into a temporary twin, one merge."""
        pg_copy_merge(raw, "threshold_state", STATE_COLUMNS, rows, key="indicator_id")

    def insert(self, table: Table) -> Any:
        """PostgreSQL's INSERT … ON CONFLICT."""
        return pg_insert(table)

    def pipeline_engine(self, engine: Engine) -> Engine:
        """The main engine (its pool serves both)."""
        return engine

    def write_gate(self) -> AbstractContextManager[Any]:
        """None: PostgreSQL takes concurrent writers (row locks order them)."""
        return nullcontext()

    def begin_writes(self, conn: Connection) -> None:
        """Nothing: the session's transaction is already open and MVCC needs no lock."""

    def exclusive(self, conn: Connection, name: str) -> None:
        """A transaction-level advisory lock on the name's hash."""
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))

    def feed_horizon(self, conn: Connection) -> tuple[int, int] | None:
        """The current snapshot's xmin and xmax."""
        snapshot = func.pg_current_snapshot()
        row = conn.execute(
            select(
                func.pg_snapshot_xmin(snapshot).cast(Text),
                func.pg_snapshot_xmax(snapshot).cast(Text),
            )
        ).one()
        return int(row[0]), int(row[1])

    def lock_due(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """Lock the due rows, skipping those another worker holds."""
        return list(conn.execute(query.with_for_update(skip_locked=True)).mappings())

    def hold_lease(self, conn: Connection, *, name: str, holder: str, token: int) -> bool:
        """SELECT … FOR SHARE: a takeover's UPDATE waits for this transaction's end. On the
        driver: every group commit of observations runs it."""
        return bool(Driver(conn).rows(_HOLD_LEASE, (name, holder, token)))

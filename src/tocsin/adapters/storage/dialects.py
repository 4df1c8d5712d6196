"""What differs between SQLite and PostgreSQL, as one interface with one module per database.

The stores never ask which database they are on: `engine.writer_for(engine)` picks the writer
once, from a table, and the stores call it where the databases differ: bulk writes of
observations and rule state, the newest stored time per indicator at start-up, upserts, the
warning pipeline's short write transactions, the change feed's visibility horizon and the
claiming of due notifications. `sqlite_writer.py` and `postgres_writer.py` implement it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, Select, Table, func, select

from tocsin.adapters.storage import tables as t
from tocsin.core.observations import ObservationBatch


class ObservationWriter(Protocol):
    """Writes one transaction's observation batches (in key order, each key once)."""

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None) -> None:
        """Upsert a batch; `new` marks rows known not to be stored yet."""

    def finish(self) -> None:
        """Complete what the writes left open (before a read and before commit)."""

    def settle(self) -> int:
        """Upkeep left for later, if due (see `ObservationStore.settle`); the rows moved."""


class DialectWriter(Protocol):
    """The database-specific part of the stores."""

    def observation_writer(self, raw: Any) -> ObservationWriter:
        """A writer of observations on a DB-API connection, for one transaction."""

    def newest_times(self, conn: Connection, ids: Sequence[int] | None = None) -> dict[int, int]:
        """Indicator id -> time of its newest stored observation (index probes only), for
        every indicator or those of `ids`."""

    def held(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """Rows of a query on `observation_inbox`, in arrival order (none where unused)."""

    def held_new_keys(self, conn: Connection) -> int:
        """How many keys the inbox holds that `observations` does not."""

    def begin_retention(self, conn: Connection) -> None:
        """Prepare a retention run in this transaction: what is held elsewhere (SQLite's inbox)
        moves into `observations`, and one run at a time holds the database (PostgreSQL: an
        advisory lock, so a second server's run waits and then finds the rows gone)."""

    def drop_observations(self, conn: Connection, before: int) -> int:
        """Delete the observations older than `before`; how many."""

    def save_threshold_rows(self, raw: Any, rows: list[tuple[Any, ...]]) -> None:
        """Upsert rule-state rows (indicator_id, level, last_ts, above, below)."""

    def insert(self, table: Table) -> Any:
        """An INSERT that can take ON CONFLICT clauses."""

    def pipeline_engine(self, engine: Engine) -> Engine:
        """The engine the warning pipeline's store uses."""

    def write_gate(self) -> AbstractContextManager[Any]:
        """What a process's pipeline threads hold, one at a time, while they take the
        database's write lock (a new gate each call: the store keeps one)."""

    def begin_writes(self, conn: Connection) -> None:
        """Take what a pipeline session needs before it performs its buffered writes."""

    def exclusive(self, conn: Connection, name: str) -> None:
        """Hold the lock `name` until this transaction ends: what follows runs in one process
        at a time (two processes starting together migrate and store the catalogue in turn).
        Call it before anything else in the transaction."""

    def feed_horizon(self, conn: Connection) -> tuple[int, int] | None:
        """(xmin, xmax) of the current snapshot, when ids can become visible out of order."""

    def lock_due(self, conn: Connection, query: Select[Any]) -> list[Any]:
        """Rows of a due-notifications query, locked for this worker until it commits."""

    def hold_lease(self, conn: Connection, *, name: str, holder: str, token: int) -> bool:
        """True when lease `name` is stored with this holder and token; it then stays so until
        this transaction ends (no takeover can commit in between)."""


def raw_connection(conn: Connection) -> Any:
    """The DB-API connection under a SQLAlchemy connection (for executemany and COPY)."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("connection is closed")
    return raw


def newest_per_indicator(observations: Any) -> Select[Any]:
    """SELECT id, (newest ts of that indicator in `observations`) FROM indicators."""
    newest = (
        select(func.max(observations.c.ts))
        .where(observations.c.indicator_id == t.indicators.c.id)
        .scalar_subquery()
    )
    return select(t.indicators.c.id, newest)

"""Events on SQL, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.sql.lookups import CHUNK, rows_in
from tocsin.adapters.storage.sql.records import from_row, to_row
from tocsin.adapters.storage.times import must
from tocsin.core.events import Event
from tocsin.ports.events import StoredEvent


class SqlEvents:
    """The EventStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events not yet stored; return how many were new."""
        if not events:
            return 0
        existing = self._stored_keys(events)
        fresh = {
            (ev.source, ev.external_id): ev
            for ev in events
            if (ev.source, ev.external_id) not in existing
        }
        rows = [to_row(ev, received_at=received_at) for ev in fresh.values()]
        _TABLE.insert_rows(Driver(self.conn), rows)  # every cluster signal comes here: driver
        return len(fresh)

    def _stored_keys(self, events: Sequence[Event]) -> set[tuple[str, str]]:
        """Which (source, external_id) keys are stored: per source, bounded IN lists of ids (an
        OR of pairs per key overflowed SQLite's expression depth past 1,000 keys)."""
        ids_by_source: dict[str, list[str]] = {}
        for ev in events:
            ids_by_source.setdefault(ev.source, []).append(ev.external_id)
        drv = Driver(self.conn)
        found: set[tuple[str, str]] = set()
        for source, ids in ids_by_source.items():
            unique = list(dict.fromkeys(ids))
            for i in range(0, len(unique), CHUNK):
                chunk = unique[i : i + CHUNK]
                found.update(
                    (source, r[0]) for r in drv.rows(_stored(len(chunk)), [source, *chunk])
                )
        return found

    def newest(self, *, limit: int = 200) -> list[StoredEvent]:
        """Newest events first."""
        query = select(t.events).order_by(t.events.c.occurred_at.desc()).limit(limit)
        rows = self.conn.execute(query).mappings()
        return [StoredEvent(from_row(Event, r), must(r["received_at"])) for r in rows]

    def occurrences(
        self, assets: Sequence[str], *, source_prefix: str, since: datetime, until: datetime
    ) -> list[tuple[str, datetime]]:
        """(asset, occurred at) of matching events in [since, until)."""
        c = t.events.c
        query = select(c.asset, c.occurred_at).where(
            c.source.startswith(source_prefix, autoescape=True),
            c.occurred_at >= since,
            c.occurred_at < until,
        )
        rows = rows_in(self.conn, query, column=c.asset, keys=list(assets))
        return [(r["asset"], must(r["occurred_at"])) for r in rows]


_TABLE = DriverTable(t.events)


@cache
def _stored(keys: int) -> DriverStatement:
    """Which of `keys` external ids of one source are stored."""
    marks = ", ".join("?" * keys)
    return DriverStatement(
        f"SELECT external_id FROM events WHERE source = ? AND external_id IN ({marks})"  # noqa: S608
    )

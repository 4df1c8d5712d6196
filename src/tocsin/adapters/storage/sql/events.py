"""Events on SQL, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, insert, or_, select

from tocsin.adapters.storage import tables as t
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
        e = t.events
        keys = {(ev.source, ev.external_id) for ev in events}
        known = or_(*[and_(e.c.source == s, e.c.external_id == x) for s, x in keys])
        existing = {
            (r.source, r.external_id)
            for r in self.conn.execute(select(e.c.source, e.c.external_id).where(known))
        }
        fresh = {
            (ev.source, ev.external_id): ev
            for ev in events
            if (ev.source, ev.external_id) not in existing
        }
        if fresh:
            self.conn.execute(
                insert(e), [to_row(ev, received_at=received_at) for ev in fresh.values()]
            )
        return len(fresh)

    def newest(self, *, limit: int = 200) -> list[StoredEvent]:
        """Newest events first."""
        query = select(t.events).order_by(t.events.c.occurred_at.desc()).limit(limit)
        rows = self.conn.execute(query).mappings()
        return [StoredEvent(from_row(Event, r), must(r["received_at"])) for r in rows]

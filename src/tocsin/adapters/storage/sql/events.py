"""Events on SQL, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.times import aware
from tocsin.core.events import Event


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
            self.conn.execute(insert(e), [_event_row(ev, received_at) for ev in fresh.values()])
        return len(fresh)

    def newest(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest events first."""
        query = select(t.events).order_by(t.events.c.occurred_at.desc()).limit(limit)
        out = []
        for r in self.conn.execute(query).mappings():
            row = dict(r)
            row["occurred_at"] = aware(row["occurred_at"])
            row["received_at"] = aware(row["received_at"])
            out.append(row)
        return out


def _event_row(e: Event, received_at: datetime) -> dict[str, Any]:
    return {
        "source": e.source,
        "external_id": e.external_id,
        "occurred_at": e.occurred_at,
        "received_at": received_at,
        "region": e.region,
        "domain": e.domain,
        "severity": e.severity.value,
        "title": e.title,
        "description": e.description,
        "asset": e.asset,
        "attributes": dict(e.attributes),
    }

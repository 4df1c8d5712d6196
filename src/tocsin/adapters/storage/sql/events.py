"""Events on SQL, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.times import must
from tocsin.core.domains import DomainCode
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
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
            self.conn.execute(insert(e), [_event_row(ev, received_at) for ev in fresh.values()])
        return len(fresh)

    def newest(self, *, limit: int = 200) -> list[StoredEvent]:
        """Newest events first."""
        query = select(t.events).order_by(t.events.c.occurred_at.desc()).limit(limit)
        return [_stored(r) for r in self.conn.execute(query).mappings()]


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


def _stored(r: Mapping[Any, Any]) -> StoredEvent:
    event = Event(
        source=r["source"],
        external_id=r["external_id"],
        occurred_at=must(r["occurred_at"]),
        region=RegionCode(r["region"]),
        domain=DomainCode(r["domain"]),
        severity=Level(r["severity"]),
        title=r["title"],
        description=r["description"],
        asset=r["asset"],
        attributes=r["attributes"],
    )
    return StoredEvent(event, must(r["received_at"]))

"""Events in memory, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.events import Event


class MemoryEvents:
    """The EventStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def insert(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events not yet stored; return how many were new."""
        before = len(self.state.events)
        for e in events:
            self.state.events.setdefault((e.source, e.external_id), (e, received_at))
        return len(self.state.events) - before

    def newest(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest events first, as rows."""
        stored = list(self.state.events.values())
        rows = [_row(i + 1, e, at) for i, (e, at) in enumerate(stored)]
        rows.sort(key=lambda r: r["occurred_at"], reverse=True)
        return rows[:limit]


def _row(ident: int, e: Event, received_at: datetime) -> dict[str, Any]:
    return {
        "id": ident,
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

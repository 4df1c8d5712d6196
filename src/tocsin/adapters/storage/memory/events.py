"""Events in memory, idempotent by (source, external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.events import Event
from tocsin.ports.events import StoredEvent


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

    def newest(self, *, limit: int = 200) -> list[StoredEvent]:
        """Newest events first."""
        stored = [StoredEvent(e, at) for e, at in self.state.events.values()]
        stored.sort(key=lambda s: s.event.occurred_at, reverse=True)
        return stored[:limit]

    def occurrences(
        self, assets: Sequence[str], *, source_prefix: str, since: datetime, until: datetime
    ) -> list[tuple[str, datetime]]:
        """(asset, occurred at) of matching events in [since, until)."""
        wanted = set(assets)
        return [
            (e.asset, e.occurred_at)
            for e, _ in self.state.events.values()
            if e.asset in wanted
            and e.source.startswith(source_prefix)
            and since <= e.occurred_at < until
        ]

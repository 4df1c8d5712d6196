"""The change feed in memory: audit ids become visible in order (transactions are serial).
Each reader (the dispatcher's "warnings", the response's "response") keeps its own position."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.ports.feed import FeedRow

FEED = "warnings"  # the dispatcher's feed; others (public alerts, the response) have their own


class MemoryWarningFeed:
    """The WarningFeed port in one transaction, for the reader `name`."""

    def __init__(self, state: MemoryState, *, name: str = FEED) -> None:
        self.state = state
        self.name = name

    def read(self, limit: int) -> list[FeedRow]:
        """Warning transitions after the position and not yet processed, oldest first."""
        position, done = self.state.feeds.get(self.name, (0, frozenset()))
        out: list[FeedRow] = []
        for index in range(position, len(self.state.audit)):
            r, ident = self.state.audit[index], index + 1
            if r.subject_type == "warning" and ident not in done:
                out.append(FeedRow(ident, r.subject_id, r.kind, r.at, r.actor, r.reason))
                if len(out) == limit:
                    break
        return out

    def advance(self, processed: Sequence[int]) -> None:
        """Mark ids processed; move the position over processed and non-warning records."""
        position, before = self.state.feeds.get(self.name, (0, frozenset()))
        done = set(before) | set(processed)
        while position < len(self.state.audit):
            nxt = position + 1
            if nxt in done:
                done.discard(nxt)
            elif self.state.audit[position].subject_type == "warning":
                break
            position = nxt
        self.state.feeds[self.name] = (position, frozenset(done))

"""The change feed in memory: audit ids become visible in order (transactions are serial)."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.ports.feed import FeedRow


class MemoryWarningFeed:
    """The WarningFeed port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def read(self, limit: int) -> list[FeedRow]:
        """Warning transitions after the position and not yet processed, oldest first."""
        done = self.state.feed_done
        out: list[FeedRow] = []
        for index in range(self.state.feed_position, len(self.state.audit)):
            r, ident = self.state.audit[index], index + 1
            if r.subject_type == "warning" and ident not in done:
                out.append(FeedRow(ident, r.subject_id, r.kind, r.at, r.actor, r.reason))
                if len(out) == limit:
                    break
        return out

    def advance(self, processed: Sequence[int]) -> None:
        """Mark ids processed; move the position over processed and non-warning records."""
        done = set(self.state.feed_done) | set(processed)
        position = self.state.feed_position
        while position < len(self.state.audit):
            nxt = position + 1
            if nxt in done:
                done.discard(nxt)
            elif self.state.audit[position].subject_type == "warning":
                break
            position = nxt
        self.state.feed_position = position
        self.state.feed_done = frozenset(done)

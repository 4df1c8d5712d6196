"""The change feed in memory: audit ids become visible in order (transactions are serial)."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.ports.feed import FeedRow

FEED = "warnings"  # the dispatcher's feed


class MemoryWarningFeed:
    """The WarningFeed port in one transaction; a named feed (another consumer of the same
    transitions, such as public alerts) keeps its own position."""

    def __init__(self, state: MemoryState, name: str = FEED) -> None:
        self.state = state
        self.name = name

    def _cursor(self) -> tuple[int, frozenset[int]]:
        if self.name == FEED:
            return self.state.feed_position, self.state.feed_done
        return self.state.feed_cursors.get(self.name, (0, frozenset()))

    def _move(self, position: int, done: frozenset[int]) -> None:
        if self.name == FEED:
            self.state.feed_position, self.state.feed_done = position, done
        else:
            self.state.feed_cursors[self.name] = (position, done)

    def read(self, limit: int) -> list[FeedRow]:
        """Warning transitions after the position and not yet processed, oldest first."""
        start, done = self._cursor()
        out: list[FeedRow] = []
        for index in range(start, len(self.state.audit)):
            r, ident = self.state.audit[index], index + 1
            if r.subject_type == "warning" and ident not in done:
                out.append(FeedRow(ident, r.subject_id, r.kind, r.at, r.actor, r.reason))
                if len(out) == limit:
                    break
        return out

    def advance(self, processed: Sequence[int]) -> None:
        """Mark ids processed; move the position over processed and non-warning records."""
        position, seen = self._cursor()
        done = set(seen) | set(processed)
        while position < len(self.state.audit):
            nxt = position + 1
            if nxt in done:
                done.discard(nxt)
            elif self.state.audit[position].subject_type == "warning":
                break
            position = nxt
        self._move(position, frozenset(done))

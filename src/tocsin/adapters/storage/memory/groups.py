"""Aggregation groups and their members in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.warnings.grouping import AggregationGroup


class MemoryGroups:
    """The GroupStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self._copied: set[str] = set()

    def _members(self, group_id: str) -> set[str]:
        if group_id not in self._copied:
            self._copied.add(group_id)
            self.state.members[group_id] = set(self.state.members.get(group_id, ()))
        return self.state.members[group_id]

    def get_many(self, group_ids: Sequence[str]) -> dict[str, AggregationGroup]:
        """Groups by id (missing ones left out)."""
        return {g: self.state.groups[g] for g in group_ids if g in self.state.groups}

    def save(self, group: AggregationGroup) -> None:
        """Insert or update a group."""
        self.state.groups[group.id] = group

    def delete(self, group_id: str) -> None:
        """Forget a group and its members."""
        self.state.groups.pop(group_id, None)
        self.state.members.pop(group_id, None)
        self._copied.discard(group_id)

    def add_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Add members."""
        self._members(group_id).update(warning_ids)

    def remove_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Remove members."""
        self._members(group_id).difference_update(warning_ids)

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member warning ids of several groups."""
        return {g: sorted(self.state.members.get(g, ())) for g in group_ids}

    def groups_of(self, warning_ids: Sequence[str]) -> dict[str, set[str]]:
        """The groups each warning belongs to."""
        found: dict[str, set[str]] = {w: set() for w in warning_ids}
        for gid, members in self.state.members.items():
            for w in members & found.keys():
                found[w].add(gid)
        return found

    def due(self, now: datetime, limit: int) -> list[AggregationGroup]:
        """Groups due for evaluation, earliest first."""
        due = [
            g
            for g in self.state.groups.values()
            if g.state.next_flush_at is not None and g.state.next_flush_at <= now
        ]
        return sorted(due, key=lambda g: (g.state.next_flush_at, g.id))[:limit]

    def next_due(self) -> datetime | None:
        """Earliest next evaluation."""
        times = [g.state.next_flush_at for g in self.state.groups.values()]
        return min((t for t in times if t is not None), default=None)

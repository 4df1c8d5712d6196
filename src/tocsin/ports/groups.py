"""Port: aggregation groups (route, receiver, common labels) and their member warnings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tocsin.core.warnings.grouping import AggregationGroup


class GroupStore(Protocol):
    """Groups and membership; membership changes are visible at once in the transaction."""

    def get_many(self, group_ids: Sequence[str]) -> dict[str, AggregationGroup]:
        """Groups by id (missing ones left out)."""

    def save(self, group: AggregationGroup) -> None:
        """Insert or update a group."""

    def delete(self, group_id: str) -> None:
        """Forget a finished group and its members."""

    def add_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Add warnings to a group (already present ones are ignored)."""

    def remove_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Remove warnings from a group."""

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member warning ids of each group (sorted)."""

    def groups_of(self, warning_ids: Sequence[str]) -> dict[str, set[str]]:
        """The ids of the groups each warning belongs to."""

    def due(self, now: datetime, limit: int) -> list[AggregationGroup]:
        """Groups whose next evaluation is due, earliest first."""

    def next_due(self) -> datetime | None:
        """The earliest next evaluation of any group."""

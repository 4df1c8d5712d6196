"""Port: the change feed of committed warning transitions that the dispatcher consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One committed audit record of a warning transition, in commit-safe order."""

    id: int
    warning_id: str
    kind: str
    at: datetime
    actor: str
    reason: str


class WarningFeed(Protocol):
    """Warning transitions in the order they became visible, each read until processed."""

    def read(self, limit: int) -> list[FeedRow]:
        """Transitions committed and not yet processed, oldest first."""

    def advance(self, processed: Sequence[int]) -> None:
        """Record these ids as processed (together with what processing them wrote)."""

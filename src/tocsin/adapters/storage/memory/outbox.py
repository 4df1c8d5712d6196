"""The notification outbox in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.warnings.outbox import Attempt, DeliveryStatus, Notification


class MemoryOutbox:
    """The Outbox port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add(self, notifications: Sequence[Notification]) -> None:
        """Write notifications; a key already stored is kept."""
        for n in notifications:
            self.state.notifications.setdefault(n.key, n)

    def mark(self, key: str, attempt: Attempt) -> None:
        """Record a delivery attempt."""
        current = self.state.notifications.get(key)
        if current is None:
            return
        self.state.notifications[key] = replace(
            current,
            status=attempt.status,
            attempts=attempt.attempts,
            next_attempt_at=attempt.next_attempt_at,
            delivered_at=attempt.delivered_at,
            last_error=attempt.error,
        )

    def find(
        self, *, warning_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Notification]:
        """The log, newest first."""
        found = [
            n
            for n in self.state.notifications.values()
            if (warning_id is None or warning_id in n.warning_ids)
            and (status is None or n.status.value == status)
        ]
        found.sort(key=lambda n: n.key)
        found.sort(key=lambda n: n.created_at, reverse=True)
        return found[:limit]

    def due(self, now: datetime, *, channels: Sequence[str] | None) -> list[Notification]:
        """Pending notifications due at `now`, oldest first."""
        due = [
            n
            for n in self.state.notifications.values()
            if n.status is DeliveryStatus.PENDING
            and n.next_attempt_at is not None
            and n.next_attempt_at <= now
            and (channels is None or n.channel.value in channels)
        ]
        return sorted(due, key=lambda n: (n.next_attempt_at, n.created_at))

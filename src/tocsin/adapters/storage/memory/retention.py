"""Retention in memory: count or delete what is past its period."""

from __future__ import annotations

from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.warnings.outbox import DeliveryStatus

DONE = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


class MemoryRetention:
    """The RetentionStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def notifications(self, *, before: datetime, delete: bool) -> int:
        """Finished notifications created before `before`."""
        old = [
            k
            for k, n in self.state.notifications.items()
            if n.status in DONE and n.created_at < before
        ]
        if delete:
            for k in old:
                del self.state.notifications[k]
        return len(old)

    def events(self, *, before: datetime, delete: bool) -> int:
        """Events received before `before`."""
        old = [k for k, (_, received) in self.state.events.items() if received < before]
        if delete:
            for k in old:
                del self.state.events[k]
        return len(old)

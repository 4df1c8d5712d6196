"""Port: the notification outbox, written with the decisions that cause notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tocsin.core.warnings.outbox import Attempt, Notification


class Outbox(Protocol):
    """Notifications by idempotency key: a key is written once, its outcome recorded after."""

    def add(self, notifications: Sequence[Notification]) -> None:
        """Write notifications (a key already stored is kept as it is)."""

    def mark(self, key: str, attempt: Attempt) -> None:
        """Record the outcome of a delivery attempt."""

    def find(
        self, *, warning_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Notification]:
        """The notification log, newest first."""


class OutboxClaims(Protocol):
    """Claims due notifications for one delivery worker, in a transaction of its own."""

    def claim_notifications(
        self, now: datetime, *, until: datetime, limit: int, channels: Sequence[str] | None = None
    ) -> list[Notification]:
        """Take due pending notifications: their next attempt moves to `until` and their
        attempt count goes up by one (returned as claimed); safe with several workers."""

"""Port: deleting personal data past its retention period (docs/data.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class RetentionStore(Protocol):
    """Rows past their period, counted or deleted."""

    def notifications(self, *, before: datetime, delete: bool) -> int:
        """Notifications delivered or given up, created before `before` (their addresses and
        payloads name people and units)."""

    def events(self, *, before: datetime, delete: bool) -> int:
        """Events received before `before` (their titles, descriptions and attributes may
        name people)."""

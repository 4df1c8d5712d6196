"""The system clock (the only place services' `now` comes from in production)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Wall-clock time, aware UTC."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)

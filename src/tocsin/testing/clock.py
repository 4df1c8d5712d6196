"""A clock tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A settable clock; starts at 2026-01-01T00:00Z unless told otherwise."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move forward and return the new time."""
        self._now += by
        return self._now

    def set(self, to: datetime) -> None:
        """Jump to a moment."""
        self._now = to

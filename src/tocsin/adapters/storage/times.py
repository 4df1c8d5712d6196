"""Datetimes read back from the database as aware UTC (SQLite returns them naive)."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime | None) -> datetime | None:
    """The value as aware UTC (naive values are UTC by construction); None stays None."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def must(value: datetime | None) -> datetime:
    """Like `aware`, for NOT NULL columns."""
    out = aware(value)
    if out is None:
        raise ValueError("timestamp column unexpectedly NULL")
    return out

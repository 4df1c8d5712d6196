"""Moments as inputs give them: RFC 3339 date-times with an offset, or integer epoch seconds,
between 1900 and 9999 (the range every store, ISO 8601 and Python's datetime represent)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
EPOCH_MIN = int((EARLIEST - EPOCH).total_seconds())
EPOCH_MAX = int((LATEST - EPOCH).total_seconds())
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
MOMENT_HELP = "an RFC 3339 date-time with an offset (2026-01-01T00:00:00Z), 1900 to 9999"
EPOCH_HELP = f"integer epoch seconds ({EPOCH_MIN} to {EPOCH_MAX})"


def parse_moment(value: object, expected: str) -> datetime:
    """An aware UTC datetime from RFC 3339 text within the range; ValueError saying `expected`."""
    if not isinstance(value, str) or RFC3339.fullmatch(value) is None:
        raise ValueError(f"expected {expected}")
    text = value.upper().replace("Z", "+00:00")
    try:
        utc = datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise ValueError(f"expected {expected}: {err}") from err
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(f"expected {expected}")
    return utc


def moment(value: object) -> datetime:
    """An aware UTC datetime of RFC 3339 text; ValueError saying what is expected."""
    return parse_moment(value, MOMENT_HELP)


def epoch_seconds(value: object) -> int:
    """Epoch seconds of an integer in range or RFC 3339 text; ValueError saying what is expected."""
    if type(value) is int:
        if not EPOCH_MIN <= value <= EPOCH_MAX:
            raise ValueError(f"expected {EPOCH_HELP}")
        return value
    found = parse_moment(value, f"{MOMENT_HELP}, or {EPOCH_HELP}")
    return (found - EPOCH) // timedelta(seconds=1)


def ahead_reason(at: int, *, now: int, max_ahead: int) -> str:
    """Why the time `at` is refused (all epoch seconds): later than `now + max_ahead`.

    >>> ahead_reason(4_102_444_800, now=1_767_225_600, max_ahead=300).split(" (")[1]
    'now 2026-01-01T00:00:00Z plus 300 s, TOCSIN_MAX_CLOCK_SKEW_S)'
    """
    return (
        f"{_iso(at)} is later than the server's clock allows "
        f"(now {_iso(now)} plus {max_ahead} s, TOCSIN_MAX_CLOCK_SKEW_S)"
    )


def _iso(epoch: int) -> str:
    if not EPOCH_MIN <= epoch <= EPOCH_MAX:
        return f"{epoch} s after 1970"
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")

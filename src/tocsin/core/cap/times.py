"""CAP 1.2 date-times: `YYYY-MM-DDThh:mm:ss±hh:mm`, with an offset, without fractions or `Z`.

OASIS CAP 1.2 §3.3.2: alphabetic time zone designators such as `Z` must not be used, and UTC is
written `-00:00`. Tocsin writes every moment in UTC that way, and reads any offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

CAP_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}")


def format_time(moment: datetime) -> str:
    """A moment as CAP writes it, in UTC (`2026-01-01T10:00:00-00:00`).

    >>> format_time(datetime(2026, 1, 1, 10, 0, 0, 500, tzinfo=UTC))
    '2026-01-01T10:00:00-00:00'
    """
    utc = moment.astimezone(UTC).replace(microsecond=0)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def parse_time(text: str) -> datetime:
    """A CAP date-time as an aware UTC moment; ValueError when it is not one.

    >>> parse_time("2003-04-02T14:39:01-05:00").isoformat()
    '2003-04-02T19:39:01+00:00'
    """
    value = text.strip()
    if CAP_TIME.fullmatch(value) is None:
        raise ValueError(f"not a CAP date-time (YYYY-MM-DDThh:mm:ss±hh:mm): {value!r}")
    sign = -1 if value[19] == "-" else 1
    hours, minutes = int(value[20:22]), int(value[23:25])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    local = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone)
    return local.astimezone(UTC)


def is_time(text: str) -> bool:
    """True when the text is a CAP date-time."""
    try:
        parse_time(text)
    except ValueError:
        return False
    return True

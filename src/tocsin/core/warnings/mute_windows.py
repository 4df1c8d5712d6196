"""Recurring mute windows: named weekly time ranges (e.g. maintenance nights) in a time zone.

While a window is in effect, routes that name it send nothing; warnings are kept and notified
once the window closes (at the next group interval), as in Alertmanager's `mute_time_intervals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A daily range [start, end) in local time; end 00:00 means midnight at the end."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """True when the local time of day falls in the range."""
        if self.end == time(0, 0):
            return moment >= self.start
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class MuteWindow:
    """Weekdays (0 = Monday), times of day and optional days of month, in a time zone."""

    name: str
    weekdays: frozenset[int] = frozenset()  # empty = every day
    times: tuple[TimeRange, ...] = ()  # empty = the whole day
    days_of_month: frozenset[int] = frozenset()  # empty = every day of the month
    timezone: str = "UTC"

    def is_in_effect(self, now: datetime) -> bool:
        """True when `now` (aware) falls inside the window."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.days_of_month and local.day not in self.days_of_month:
            return False
        if not self.times:
            return True
        moment = local.time().replace(tzinfo=None)
        return any(r.contains(moment) for r in self.times)


def muted_by(
    names: Iterable[str], windows: dict[str, MuteWindow], now: datetime
) -> tuple[str, ...]:
    """The named windows in effect at `now` (unknown names are ignored; config rejects them)."""
    return tuple(n for n in names if n in windows and windows[n].is_in_effect(now))

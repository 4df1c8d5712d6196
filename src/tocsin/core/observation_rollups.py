"""Observation retention: raw observations older than a configured age are downsampled into
per-interval summaries (count, minimum, maximum, mean) or dropped; what the warnings, the audit
trail and the response hold is never touched by it.

An interval is `[start, start + interval_s)` with `start` a multiple of `interval_s` in epoch
seconds (floor division, so times before 1970 fall in the interval that holds them). The cut-off
is the start of the interval that holds `now - raw_for`: every interval before it is complete,
so a summary is never made of half an interval's observations. A late observation older than
the cut-off, stored after a run, is summarised by the next run into the same interval (its count
and extremes merged; a time sent again is then counted twice, which a summary cannot tell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tocsin.core.errors import InvalidInput, Problem

MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 86_400


class AfterRetention(StrEnum):
    """What becomes of observations past the raw retention."""

    DOWNSAMPLE = "downsample"  # summarised per interval, then deleted
    DROP = "drop"  # deleted


@dataclass(frozen=True, slots=True)
class RollupPolicy:
    """How long raw observations are kept and what becomes of them afterwards."""

    raw_for: timedelta
    interval_s: int = 3_600
    after: AfterRetention = AfterRetention.DOWNSAMPLE

    def __post_init__(self) -> None:
        problems = []
        if self.raw_for <= timedelta(0):
            problems.append(Problem("settings", "retain_observations_days", "must be positive"))
        if not MIN_INTERVAL_S <= self.interval_s <= MAX_INTERVAL_S:
            reason = f"must lie between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds"
            problems.append(Problem("settings", "observation_rollup_s", reason))
        if self.raw_for.total_seconds() < self.interval_s:
            reason = "raw observations must be kept for at least one rollup interval"
            problems.append(Problem("settings", "retain_observations_days", reason))
        if problems:
            raise InvalidInput(problems)

    def cutoff(self, now: datetime) -> int:
        """Epoch second before which observations are past retention (an interval start)."""
        return interval_start(int((now - self.raw_for).timestamp()), self.interval_s)


@dataclass(frozen=True, slots=True)
class Rollup:
    """The summary of one indicator's observations in one interval."""

    indicator_id: int
    start: int
    interval_s: int
    count: int
    minimum: float
    maximum: float
    total: float

    @property
    def mean(self) -> float:
        """The mean of the summarised values."""
        return self.total / self.count


def interval_start(ts: int, interval_s: int) -> int:
    """The start of the interval holding `ts` (floor, also before 1970)."""
    return ts - ts % interval_s


def merged(old: Rollup, new: Rollup) -> Rollup:
    """One interval's summaries of two sets of observations, as one."""
    return Rollup(
        old.indicator_id,
        old.start,
        old.interval_s,
        old.count + new.count,
        min(old.minimum, new.minimum),
        max(old.maximum, new.maximum),
        old.total + new.total,
    )

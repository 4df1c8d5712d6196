"""Observation batches: columnar arrays of (series index, epoch seconds, value)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# The times an observation may carry, in epoch seconds: 1900-01-01 to 9999-12-31 (UTC), the range
# every store, the ISO 8601 form and Python's datetime all represent. Anything outside is refused.
EARLIEST_TIME = -2_208_988_800
LATEST_TIME = 253_402_300_799


def times_out_of_range(times: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Mask of the times outside [EARLIEST_TIME, LATEST_TIME]."""
    out: npt.NDArray[np.bool_] = (times < EARLIEST_TIME) | (times > LATEST_TIME)
    return out


def later_than(times: npt.NDArray[np.int64], latest: int) -> npt.NDArray[np.int64]:
    """Row indices of the times after `latest` (epoch seconds): observations from the future.

    >>> later_than(np.array([10, 20, 31, 30]), 30).tolist()
    [2]
    """
    rows: npt.NDArray[np.int64] = np.flatnonzero(times > latest).astype(np.int64)
    return rows


@dataclass(frozen=True, slots=True)
class ObservationBatch:
    """A batch of observations; `series` indexes the indicator catalogue densely."""

    series: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        """Check the three columns agree in length."""
        n = len(self.series)
        if len(self.times) != n or len(self.values) != n:
            raise ValueError("series, times and values must have the same length")

    def __len__(self) -> int:
        """Number of observations."""
        return len(self.series)

    def take(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64] | slice) -> ObservationBatch:
        """The rows selected by a mask, an index array or a slice, as a batch."""
        return ObservationBatch(self.series[rows], self.times[rows], self.values[rows])

    def in_time_order(self) -> ObservationBatch:
        """The same observations sorted by (time, series), stable."""
        return self.take(np.lexsort((self.series, self.times)))

    def is_strictly_ordered(self) -> bool:
        """True when rows are already in (time, series) order with no key twice."""
        if len(self) < 2:
            return True
        dt = np.diff(self.times)
        return bool(np.all((dt > 0) | ((dt == 0) & (np.diff(self.series) > 0))))

    def deduplicated(self) -> ObservationBatch:
        """Keep the last observation for each (series, time) key, in time order."""
        if self.is_strictly_ordered():  # the common case of a time-ordered feed: no sort needed
            return self
        return self.take(self.last_per_key(np.lexsort((self.series, self.times))))

    def last_per_key(self, order: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Row indices of `order` (a stable sort that brings equal keys together), keeping of
        each (series, time) key only the row that came last."""
        series, times = self.series[order], self.times[order]
        keep = np.ones(len(order), dtype=np.bool_)
        keep[:-1] = (series[1:] != series[:-1]) | (times[1:] != times[:-1])
        kept: npt.NDArray[np.int64] = order[keep]
        return kept

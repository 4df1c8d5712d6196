"""Observation batches: columnar arrays of (series index, epoch seconds, value)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


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
        ordered = self.in_time_order()
        if len(ordered) < 2:
            return ordered
        same_as_next = (ordered.series[1:] == ordered.series[:-1]) & (
            ordered.times[1:] == ordered.times[:-1]
        )
        keep = np.ones(len(ordered), dtype=bool)
        keep[:-1] = ~same_as_next
        return ordered.take(keep)

"""An indicator table: one row per region (or per region and period), one float column per id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class IndicatorTable:
    """Input values: region ids (and names), one float array per indicator column (NaN =
    missing), and, when the table has a period column, each row's period."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    columns: Mapping[str, FloatArray]
    periods: tuple[str, ...] = ()

    def index_of(self, region: str, period: str | None = None) -> int:
        """Row of a region id (in `period`, or in the latest period); KeyError if absent."""
        if not self.periods:
            try:
                return self.ids.index(region)
            except ValueError:
                raise KeyError(region) from None
        wanted = self.latest_period() if period is None else period
        for i, (rid, per) in enumerate(zip(self.ids, self.periods, strict=True)):
            if rid == region and per == wanted:
                return i
        raise KeyError(f"{region} in {wanted}")

    def period_labels(self) -> tuple[str, ...]:
        """The distinct periods in order (numerically when all are numbers, e.g. years)."""
        return sort_periods(set(self.periods))

    def latest_period(self) -> str | None:
        """The last period (None if the table has no periods)."""
        labels = self.period_labels()
        return labels[-1] if labels else None


def sort_periods(labels: set[str] | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Periods in order: by number when every label is a number (2019 < 2020), else as text
    (ISO dates and months such as 2022-03 sort correctly as text)."""
    unique = set(labels)
    try:
        return tuple(sorted(unique, key=float))
    except ValueError:
        return tuple(sorted(unique))

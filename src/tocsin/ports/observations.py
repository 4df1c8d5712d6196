"""Port: observations `(indicator, time, value)`, stored once per (indicator, time)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.observation_rollups import Rollup
from tocsin.core.observations import ObservationBatch


class ObservationStore(Protocol):
    """The observation history of every indicator."""

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None = None) -> None:
        """Upsert observations keyed by (indicator, time); `new` marks rows known to be new."""

    def read(
        self,
        indicator_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """Observations of one indicator in time order (a transaction reads what it wrote)."""

    def count(self) -> int:
        """Number of stored observations."""

    def settle(self) -> int:
        """Storage upkeep the writes leave for later, done in this transaction if it is due
        (SQLite: merge a large inbox into the table); the rows it moved, 0 when none. For a
        writer that can do it off its callers' path (after answering them), in a transaction
        of its own. Reads see the same observations before and after."""

    def roll_up(self, *, before: int, interval_s: int) -> int:
        """Summarise every observation older than `before` per indicator and interval, merged
        into the summaries already there; the number of observations summarised."""

    def drop_before(self, *, before: int) -> int:
        """Delete every observation older than `before`; the number deleted."""

    def rollups(
        self, indicator_id: int, *, since: int | None = None, until: int | None = None
    ) -> list[Rollup]:
        """One indicator's summaries, oldest first (`since`/`until` bound interval starts)."""

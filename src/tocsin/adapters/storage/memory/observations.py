"""Observations in memory: per indicator, time -> value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.observation_rollups import Rollup, interval_start, merged
from tocsin.core.observations import ObservationBatch


class MemoryObservations:
    """The ObservationStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self._copied: set[int] = set()

    def _series(self, indicator_id: int) -> dict[int, float]:
        if indicator_id not in self._copied:
            self._copied.add(indicator_id)
            found = self.state.observations.get(indicator_id, {})
            self.state.observations[indicator_id] = dict(found)
        return self.state.observations[indicator_id]

    def write(self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None = None) -> None:
        """Upsert by (indicator, time); a later row of the same key wins."""
        rows = zip(batch.series.tolist(), batch.times.tolist(), batch.values.tolist(), strict=True)
        for ident, ts, value in rows:
            self._series(ident)[ts] = value

    def read(
        self,
        indicator_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """Observations of one indicator in time order."""
        series = self.state.observations.get(indicator_id, {})
        low = since if since is not None else -(2**63)
        high = until if until is not None else 2**63 - 1
        times = sorted(ts for ts in series if low <= ts <= high)[:limit]
        return ObservationBatch(
            np.full(len(times), indicator_id, dtype=np.int64),
            np.array(times, dtype=np.int64),
            np.array([series[ts] for ts in times], dtype=np.float64),
        )

    def count(self) -> int:
        """Number of stored observations."""
        return sum(len(s) for s in self.state.observations.values())

    def settle(self) -> int:
        """Nothing is left for later."""
        return 0

    def newest_times(self, ids: Sequence[int] | None = None) -> dict[int, int]:
        """Indicator id -> time of its newest observation (of `ids`, when given)."""
        wanted = None if ids is None else {int(i) for i in ids}
        return {
            i: max(s)
            for i, s in self.state.observations.items()
            if s and (wanted is None or i in wanted)
        }

    def roll_up(self, *, before: int, interval_s: int) -> int:
        """Summarise the observations older than `before` into the state's rollups."""
        rows = 0
        for ident in list(self.state.observations):
            for ts, value in self._series(ident).items():
                if ts >= before:
                    continue
                start = interval_start(ts, interval_s)
                one = Rollup(ident, start, interval_s, 1, value, value, value)
                key = (ident, interval_s, start)
                known = self.state.rollups.get(key)
                self.state.rollups[key] = one if known is None else merged(known, one)
                rows += 1
        return rows

    def drop_before(self, *, before: int) -> int:
        """Delete the observations older than `before`."""
        gone = 0
        for ident in list(self.state.observations):
            series = self._series(ident)
            old = [ts for ts in series if ts < before]
            for ts in old:
                del series[ts]
            gone += len(old)
        return gone

    def rollups(
        self, indicator_id: int, *, since: int | None = None, until: int | None = None
    ) -> list[Rollup]:
        """One indicator's summaries, oldest first."""
        low = since if since is not None else -(2**63)
        high = until if until is not None else 2**63 - 1
        found = [
            r
            for (ident, _, start), r in self.state.rollups.items()
            if ident == indicator_id and low <= start <= high
        ]
        return sorted(found, key=lambda r: (r.start, r.interval_s))

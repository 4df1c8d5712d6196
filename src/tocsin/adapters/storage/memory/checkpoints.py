"""Rule state, named checkpoints and stream offsets in memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tocsin.adapters.storage.memory.observations import MemoryObservations
from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.rules.thresholds import ThresholdState


class MemoryCheckpoints:
    """The CheckpointStore port in one transaction."""

    def __init__(self, state: MemoryState, *, observations: MemoryObservations) -> None:
        self.state = state
        self.observations = observations

    def load_thresholds(self, n: int, ids: Sequence[int] | None = None) -> ThresholdState:
        """State of series 0..n-1 (of `ids`, when given); last times raised to the newest
        stored observation."""
        state = ThresholdState.empty(n)
        wanted = None if ids is None else {int(i) for i in ids}
        for ident, (level, last, above, below) in self.state.thresholds.items():
            if ident < n and (wanted is None or ident in wanted):
                state.level[ident] = level
                state.last_time[ident] = last
                state.above_since[ident] = np.frombuffer(above, dtype="<i8")
                state.below_since[ident] = np.frombuffer(below, dtype="<i8")
        for ident, ts in self.observations.newest_times(ids).items():
            if ident < n:
                state.last_time[ident] = max(int(state.last_time[ident]), ts)
        return state

    def save_thresholds(self, series: npt.NDArray[np.int64], state: ThresholdState) -> None:
        """Replace the rows of the given series."""
        for s in series.tolist():
            self.state.thresholds[s] = (
                int(state.level[s]),
                int(state.last_time[s]),
                np.ascontiguousarray(state.above_since[s], dtype="<i8").tobytes(),
                np.ascontiguousarray(state.below_since[s], dtype="<i8").tobytes(),
            )

    def load(self, name: str) -> bytes | None:
        """A named blob, if any."""
        return self.state.checkpoints.get(name)

    def save(self, name: str, data: bytes) -> None:
        """Replace a named blob."""
        self.state.checkpoints[name] = bytes(data)

    def stream_offsets(self) -> dict[int, int]:
        """The last committed sequence per partition."""
        return dict(self.state.stream_offsets)

    def save_stream_offset(self, partition: int, sequence: int) -> None:
        """Replace a partition's committed sequence."""
        self.state.stream_offsets[partition] = sequence

"""Port: rule state, named checkpoints and stream offsets, saved with the observations that
changed them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.rules.thresholds import ThresholdState


class CheckpointStore(Protocol):
    """The threshold rules' state per series and named blobs (detector and score-rule state)."""

    def load_thresholds(self, n: int, ids: Sequence[int] | None = None) -> ThresholdState:
        """The state of series 0..n-1; a series' last time is its newest stored observation.
        With `ids`, only those series are read (the others are fresh): a stream worker taking
        partitions over reads their indicators alone."""

    def save_thresholds(self, series: npt.NDArray[np.int64], state: ThresholdState) -> None:
        """Persist the state rows of the given series."""

    def load(self, name: str) -> bytes | None:
        """A named checkpoint blob, if any."""

    def save(self, name: str, data: bytes) -> None:
        """Replace a named checkpoint blob."""

    def stream_offsets(self) -> dict[int, int]:
        """The last stream sequence committed per partition of the ingest stream."""

    def save_stream_offset(self, partition: int, sequence: int) -> None:
        """Record that a partition's messages up to `sequence` are committed."""

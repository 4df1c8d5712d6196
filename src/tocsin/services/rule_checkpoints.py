"""Where the detector rules' state is checkpointed, in the transaction that changed it.

One process keeps one blob for every indicator (`detector-rules`). A stream worker keeps one
blob per partition (`detector-rules@partition:P/N`), holding only that partition's
indicators, each named by its code: a partition that moves to another worker (services/
stream_balance.py) takes its detectors' state along, and a transaction writes the blobs of the
partitions it touched only.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tocsin.ports import StoreSession
from tocsin.services.scoring import CHECKPOINT, ScoreRules


class RuleCheckpoint(Protocol):
    """How the detector rules' state is read and written."""

    def covers(self, ident: int) -> bool:
        """Whether this process keeps the detector state of indicator `ident`."""

    def load(self, tx: StoreSession, scoring: ScoreRules) -> None:
        """Restore what is stored into fresh detector rules."""

    def save(self, tx: StoreSession, scoring: ScoreRules, touched: npt.NDArray[np.bool_]) -> None:
        """Write the state after a transaction whose observations touched the indicators
        flagged in `touched` (by indicator id)."""


@dataclass(frozen=True)
class WholeCheckpoint:
    """Every indicator's detector state in one blob (one process, under the rules lease)."""

    name: str = CHECKPOINT

    def covers(self, ident: int) -> bool:
        """Every indicator."""
        return True

    def load(self, tx: StoreSession, scoring: ScoreRules) -> None:
        """Restore the blob, if one was written by the same configuration."""
        saved = tx.checkpoints.load(self.name)
        if saved is not None:
            scoring.load(saved)

    def save(self, tx: StoreSession, scoring: ScoreRules, touched: npt.NDArray[np.bool_]) -> None:
        """Write the whole blob."""
        scoring.save(tx, name=self.name)


def partition_checkpoint(partition: int, partitions: int) -> str:
    """The name of one partition's checkpoint.

    >>> partition_checkpoint(3, 16)
    'detector-rules@partition:3/16'
    """
    return f"{CHECKPOINT}@partition:{partition}/{partitions}"


@dataclass(frozen=True)
class PartitionCheckpoints:
    """One blob per stream partition, for the partitions a worker owns."""

    partition_of: npt.NDArray[np.int64]  # each indicator id's partition
    partitions: int
    owned: Set[int]

    def covers(self, ident: int) -> bool:
        """The indicators of the owned partitions."""
        return int(self.partition_of[ident]) in self.owned

    def load(self, tx: StoreSession, scoring: ScoreRules) -> None:
        """Restore each owned partition's indicators (matched by code)."""
        for partition in sorted(self.owned):
            saved = tx.checkpoints.load(partition_checkpoint(partition, self.partitions))
            if saved is not None:
                scoring.load_rows(saved)

    def save(self, tx: StoreSession, scoring: ScoreRules, touched: npt.NDArray[np.bool_]) -> None:
        """Write the blob of each owned partition with a touched indicator."""
        if not len(scoring):
            return
        parts = self.partition_of[scoring.ident_of]
        for partition in np.unique(parts[touched[scoring.ident_of]]).tolist():
            if partition in self.owned:
                slots = np.flatnonzero(parts == partition).astype(np.int64)
                name = partition_checkpoint(partition, self.partitions)
                tx.checkpoints.save(name, scoring.rows_to_bytes(slots))

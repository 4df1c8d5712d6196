"""Deferred writes: what a warning-pipeline session writes, performed together when it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Batched(Protocol):
    """A repository that coalesces its writes into a few statements."""

    @property
    def has_writes(self) -> bool:
        """True when it holds writes."""

    def flush(self) -> None:
        """Perform the held writes."""


@dataclass
class WriteQueue:
    """Writes in the order they were made, then the coalesced batches of each repository."""

    pending: list[Callable[[], None]] = field(default_factory=list)
    batched: list[Batched] = field(default_factory=list)

    def defer(self, write: Callable[[], None]) -> None:
        """Hold a write until the session ends."""
        self.pending.append(write)

    @property
    def has_writes(self) -> bool:
        """True when the session has anything to write."""
        return bool(self.pending) or any(b.has_writes for b in self.batched)

    def flush(self) -> None:
        """Perform every held write: in order, then the batches."""
        try:
            for write in self.pending:
                write()
            for batch in self.batched:
                batch.flush()
        finally:
            self.pending.clear()

"""Port: the append-only audit log every state change leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import Head, Stored


class AuditLog(Protocol):
    """Who did what to which subject, when and why; records are never changed."""

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records (in the transaction's other writes)."""

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """The trail of one subject, oldest first."""

    def head(self) -> Head:
        """The hash chain's head: how many records it holds, the last one's hash."""

    def moved(self, subject_type: str, *, after_id: int) -> tuple[int, bool]:
        """The id of the newest record (0: none), and whether a record about the subject type
        is newer than `after_id`: bounded by the records since `after_id`, so a process can
        look often whether another committed such changes."""

    def stored(self, *, after_id: int = 0, limit: int = 10_000) -> list[Stored]:
        """Stored records with their chain positions and hashes, by id (for verification)."""

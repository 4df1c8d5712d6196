"""Port: the append-only audit log every state change leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tocsin.core.audit import AuditRecord


class AuditLog(Protocol):
    """Who did what to which subject, when and why; records are never changed."""

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records (in the transaction's other writes)."""

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """The trail of one subject, oldest first."""

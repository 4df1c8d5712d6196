"""The audit log in memory (ids are positions, from 1)."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.audit import AuditRecord


class MemoryAuditLog:
    """The AuditLog port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records."""
        self.state.audit.extend(records)

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """One subject's trail, oldest first."""
        return [
            r
            for r in self.state.audit
            if r.subject_type == subject_type and r.subject_id == subject_id
        ]

"""The audit log in memory (ids are positions, from 1), hash-chained like the SQL one."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import Head, Stored, extend


class MemoryAuditLog:
    """The AuditLog port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records (chained)."""
        links = extend(self.state.audit_head, records)
        self.state.audit.extend(records)
        self.state.audit_links.extend(links)
        if links:
            self.state.audit_head = Head(*links[-1])

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """One subject's trail, oldest first."""
        return [
            r
            for r in self.state.audit
            if r.subject_type == subject_type and r.subject_id == subject_id
        ]

    def head(self) -> Head:
        """The chain's head."""
        return self.state.audit_head

    def moved(self, subject_type: str, *, after_id: int) -> tuple[int, bool]:
        """The newest record's id (0: none); whether one about the subject type is newer than
        `after_id`."""
        audit = self.state.audit
        newer = audit[max(after_id, 0) :]
        return len(audit), any(r.subject_type == subject_type for r in newer)

    def stored(self, *, after_id: int = 0, limit: int = 10_000) -> list[Stored]:
        """Records with their positions and hashes, by id."""
        pairs = zip(self.state.audit, self.state.audit_links, strict=True)
        chosen = list(enumerate(pairs, start=1))[after_id : after_id + limit]
        return [Stored(i, seq, digest, r) for i, (r, (seq, digest)) in chosen]

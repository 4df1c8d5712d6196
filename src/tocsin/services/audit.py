"""The audit trail's integrity: verify the hash chain, export its head for anchoring."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.core.audit_chain import Finding, Head, Stored, verify
from tocsin.ports import Store

PAGE = 50_000


@dataclass(frozen=True, slots=True)
class Verification:
    """What `verify` found: how many records it read, the head, and the first tampering."""

    records: int
    head: Head
    finding: Finding | None


@dataclass(frozen=True)
class AuditService:
    """Reads the whole trail to check it; never changes it."""

    store: Store

    def head(self) -> Head:
        """The chain's head (position and hash of the last record), to anchor elsewhere."""
        with self.store.transaction() as tx:
            return tx.audit.head()

    def verify(self) -> Verification:
        """Walk the trail in one transaction (a consistent snapshot) and name the first record
        that was altered, deleted or moved."""
        rows: list[Stored] = []
        with self.store.transaction() as tx:
            head = tx.audit.head()
            while True:
                page = tx.audit.stored(after_id=rows[-1].id if rows else 0, limit=PAGE)
                rows += page
                if len(page) < PAGE:
                    break
        return Verification(len(rows), head, verify(rows, head))

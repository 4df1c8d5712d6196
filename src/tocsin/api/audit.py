"""The audit trail as the API shows it: one record of who did what, when and why (a warning's
history, a task's, an incident's timeline, a public alert's steps)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tocsin.core.audit import AuditRecord


class AuditOut(BaseModel):
    """One audit record: who did what, when and why."""

    at: datetime
    actor: str
    kind: str
    reason: str
    details: dict[str, Any]


def audit_out(records: Iterable[AuditRecord]) -> list[AuditOut]:
    """Audit records as the API shows them."""
    return [
        AuditOut(at=r.at, actor=r.actor, kind=r.kind, reason=r.reason, details=dict(r.details))
        for r in records
    ]

"""Audit records: the one append-only trail every state change leaves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.core.warnings.model import WarningEvent

WARNING_SUBJECT = "warning"  # the subject type of a warning transition's record (the feeds')


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to which subject, when and why."""

    at: datetime
    actor: str
    kind: str
    subject_type: str
    subject_id: str
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


def from_warning_event(event: WarningEvent) -> AuditRecord:
    """The audit record of a warning transition."""
    details: dict[str, Any] = {
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value,
        "from_level": event.from_level.value if event.from_level else None,
        "to_level": event.to_level.value,
        **event.details,
    }
    return AuditRecord(
        event.at,
        event.actor,
        event.kind.value,
        WARNING_SUBJECT,
        event.warning_id,
        event.reason,
        details,
    )

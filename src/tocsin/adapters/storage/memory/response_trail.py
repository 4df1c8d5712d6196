"""The audit trail read back for the response, in memory (a scan)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.trail import INCIDENT, TASK


class MemoryResponseTrail:
    """The ResponseTrail port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def timeline(self, incident_id: str) -> list[AuditRecord]:
        """The incident's records and its tasks', oldest first."""
        tasks = {x.id for x in self.state.tasks.values() if x.incident_id == incident_id}
        return [
            r
            for r in self.state.audit
            if (r.subject_type == INCIDENT and r.subject_id == incident_id)
            or (r.subject_type == TASK and r.subject_id in tasks)
        ]

    def between(
        self, start: datetime, end: datetime, *, subject_types: Sequence[str]
    ) -> list[AuditRecord]:
        """Records of these subject types made in [start, end), oldest first."""
        kinds = set(subject_types)
        found = [r for r in self.state.audit if start <= r.at < end and r.subject_type in kinds]
        return sorted(found, key=lambda r: r.at)

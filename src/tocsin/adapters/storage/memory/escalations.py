"""Escalations in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.warnings.escalation import Escalation


class MemoryEscalations:
    """The EscalationStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, warning_id: str) -> Escalation | None:
        """One escalation."""
        return self.state.escalations.get(warning_id)

    def get_many(self, warning_ids: Sequence[str]) -> dict[str, Escalation]:
        """The escalations of several warnings."""
        found = self.state.escalations
        return {w: found[w] for w in warning_ids if w in found}

    def save(self, escalation: Escalation) -> None:
        """Insert or update an escalation."""
        self.state.escalations[escalation.warning_id] = escalation

    def due(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations with a due step, earliest first."""
        due = [
            e
            for e in self.state.escalations.values()
            if e.stopped_at is None and e.next_due_at is not None and e.next_due_at <= now
        ]
        return sorted(due, key=lambda e: (e.next_due_at, e.warning_id))[:limit]

    def next_due(self) -> datetime | None:
        """The earliest due step of a running escalation."""
        running = self.state.escalations.values()
        times = [e.next_due_at for e in running if e.stopped_at is None]
        return min((t for t in times if t is not None), default=None)

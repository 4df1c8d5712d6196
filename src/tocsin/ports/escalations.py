"""Port: escalations (a policy snapshotted onto a warning, and how far it has gone)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.core.warnings.escalation import Escalation


class EscalationStore(Protocol):
    """One escalation per warning."""

    def get(self, warning_id: str) -> Escalation | None:
        """The escalation of a warning."""

    def save(self, escalation: Escalation) -> None:
        """Insert or update an escalation."""

    def due(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations whose next step is due, earliest first."""

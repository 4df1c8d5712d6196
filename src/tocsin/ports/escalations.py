"""Port: escalations (a policy snapshotted onto a warning, and how far it has gone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tocsin.core.warnings.escalation import Escalation


class EscalationStore(Protocol):
    """One escalation per warning."""

    def get(self, warning_id: str) -> Escalation | None:
        """The escalation of a warning."""

    def get_many(self, warning_ids: Sequence[str]) -> dict[str, Escalation]:
        """The escalations of several warnings, by warning id (those without one left out)."""

    def save(self, escalation: Escalation) -> None:
        """Insert or update an escalation."""

    def due(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations whose next step is due, earliest first."""

    def next_due(self) -> datetime | None:
        """When the earliest running escalation's next step is due (None: none is running)."""

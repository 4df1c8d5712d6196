"""Port: silences (owned, reasoned, time-boxed suppressions)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.core.warnings.silences import Silence


class SilenceStore(Protocol):
    """Silences and whether their end has been notified."""

    def save(self, silence: Silence, *, new: bool) -> None:
        """Insert or update a silence."""

    def get(self, silence_id: str) -> Silence | None:
        """One silence."""

    def find(self, *, now: datetime, include_expired: bool) -> list[Silence]:
        """Silences (not yet ended ones unless `include_expired`), newest first."""

    def ended_unnoticed(self, now: datetime) -> list[Silence]:
        """Silences that have ended and whose end has not been notified."""

    def mark_noticed(self, silence_id: str) -> None:
        """Remember that a silence's end was notified."""

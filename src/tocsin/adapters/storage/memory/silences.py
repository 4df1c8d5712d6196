"""Silences in memory."""

from __future__ import annotations

from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.warnings.silences import Silence


class MemorySilences:
    """The SilenceStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def save(self, silence: Silence, *, new: bool) -> None:
        """Insert or update a silence."""
        if new or silence.id in self.state.silences:
            self.state.silences[silence.id] = silence

    def get(self, silence_id: str) -> Silence | None:
        """One silence."""
        return self.state.silences.get(silence_id)

    def find(self, *, now: datetime, include_expired: bool) -> list[Silence]:
        """Silences, newest first."""
        found = [s for s in self.state.silences.values() if include_expired or s.ends_at > now]
        found.sort(key=lambda s: s.id)
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    def ended_unnoticed(self, now: datetime) -> list[Silence]:
        """Ended silences whose end was not yet notified."""
        return [
            s
            for s in self.state.silences.values()
            if s.ends_at <= now and s.id not in self.state.noticed
        ]

    def mark_noticed(self, silence_id: str) -> None:
        """Remember the end was notified."""
        self.state.noticed.add(silence_id)

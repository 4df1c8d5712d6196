"""Imported CAP messages and polled sources in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.cap.imports import ImportedAlert, Key
from tocsin.ports.cap_imports import SourceState


class MemoryCapImports:
    """The CapImportStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def known(self, keys: Sequence[Key]) -> dict[Key, ImportedAlert]:
        """The messages already imported among these keys."""
        return {k: self.state.cap_imports[k] for k in keys if k in self.state.cap_imports}

    def live_head(self, thread: str) -> ImportedAlert | None:
        """The thread's latest message whose warnings stand."""
        live = [
            r for r in self.state.cap_imports.values() if r.thread == thread and r.ended_at is None
        ]
        return max(live, key=lambda r: r.sent) if live else None

    def add(self, records: Sequence[ImportedAlert]) -> None:
        """Store new messages."""
        for record in records:
            self.state.cap_imports[record.key] = record

    def end(self, keys: Sequence[Key], *, at: datetime) -> None:
        """Mark messages ended."""
        for key in keys:
            record = self.state.cap_imports.get(key)
            if record is not None and record.ended_at is None:
                self.state.cap_imports[key] = replace(record, ended_at=at)

    def find(self, *, limit: int, live_only: bool = False) -> list[ImportedAlert]:
        """Imported messages, newest received first."""
        found = [r for r in self.state.cap_imports.values() if not live_only or r.ended_at is None]
        found.sort(key=lambda r: r.sent, reverse=True)
        found.sort(key=lambda r: r.received_at, reverse=True)
        return found[:limit]

    def expired(self, now: datetime, *, limit: int) -> list[ImportedAlert]:
        """Live messages past their expiry."""
        found = [
            r
            for r in self.state.cap_imports.values()
            if r.ended_at is None and r.expires_at is not None and r.expires_at <= now
        ]
        return sorted(found, key=lambda r: r.expires_at or now)[:limit]

    def source(self, name: str) -> SourceState | None:
        """A polled source's state."""
        return self.state.cap_sources.get(name)

    def save_source(self, state: SourceState) -> None:
        """Store a polled source's state."""
        self.state.cap_sources[state.name] = state

"""Warnings in memory: at most one open warning per fingerprint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.errors import Conflict
from tocsin.core.warnings.model import Warning, WarningId


class MemoryWarnings:
    """The WarningStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, warning_id: str) -> Warning | None:
        """One warning by id."""
        return self.state.warnings.get(warning_id)

    def by_ids(self, ids: Sequence[str]) -> dict[str, Warning]:
        """Warnings by id (missing ones left out)."""
        found = (self.state.warnings.get(i) for i in ids)
        return {w.id: w for w in found if w is not None}

    def open_by_fingerprint(self, fingerprints: Sequence[str]) -> dict[str, Warning]:
        """Open warnings keyed by fingerprint."""
        wanted = set(fingerprints)
        return {
            w.fingerprint: w
            for w in self.state.warnings.values()
            if w.is_open and w.fingerprint in wanted
        }

    def open_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings in any of the regions."""
        wanted = set(regions)
        return [w for w in self.state.warnings.values() if w.is_open and w.region in wanted]

    def save(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert or update warnings; Conflict when a fingerprint would be open twice."""
        for w in warnings:
            if w.is_open and self._open_twin(w):
                raise Conflict(f"warning {w.fingerprint} is already open")
            if new and w.id in self.state.warnings:
                raise Conflict(f"warning {w.id} exists already")
            if new or w.id in self.state.warnings:
                self.state.warnings[w.id] = w

    def _open_twin(self, warning: Warning) -> bool:
        return any(
            other.is_open and other.fingerprint == warning.fingerprint and other.id != warning.id
            for other in self.state.warnings.values()
        )

    def touch(self, last_seen: Mapping[WarningId, datetime]) -> None:
        """Move last_seen_at of warnings."""
        for ident, seen in last_seen.items():
            current = self.state.warnings.get(ident)
            if current is not None:
                self.state.warnings[ident] = replace(current, last_seen_at=seen)

"""Exposure in memory: advisories, imported software, patches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.exposure.advisories import Advisory
from tocsin.core.exposure.exposures import Patch


class MemoryExposure:
    """The ExposureStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def put_advisories(self, advisories: Sequence[Advisory], *, imported_at: datetime) -> int:
        """Store advisories, replacing the same feed's record of the same id."""
        for a in advisories:
            self.state.advisories[(a.feed.value, a.id)] = a
        return len(advisories)

    def advisories(self) -> list[Advisory]:
        """Every stored advisory, by feed then id."""
        return [self.state.advisories[k] for k in sorted(self.state.advisories)]

    def set_software(self, software: Mapping[str, Sequence[str]], *, imported_at: datetime) -> None:
        """Replace the imported software of each asset named."""
        for asset, names in software.items():
            self.state.software[asset] = tuple(sorted(set(names)))
            if not names:
                del self.state.software[asset]

    def imported_software(self) -> dict[str, tuple[str, ...]]:
        """Imported software by asset, names sorted."""
        return dict(sorted(self.state.software.items()))

    def record_patch(self, patch: Patch) -> None:
        """Record a patch (replacing one of the same asset and advisory)."""
        self.state.patches[(patch.asset, patch.advisory)] = patch

    def patches(self) -> list[Patch]:
        """Every recorded patch, by asset then advisory."""
        return [self.state.patches[k] for k in sorted(self.state.patches)]

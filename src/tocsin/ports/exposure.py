"""Port: exposure (vulnerability advisories, imported software inventories, patches)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from tocsin.core.exposure.advisories import Advisory
from tocsin.core.exposure.exposures import Patch


class ExposureStore(Protocol):
    """Advisories by (feed, id), software imported per asset, patches by (asset, advisory)."""

    def put_advisories(self, advisories: Sequence[Advisory], *, imported_at: datetime) -> int:
        """Store advisories, replacing the same feed's record of the same id; return the count."""

    def advisories(self) -> list[Advisory]:
        """Every stored advisory, by feed then id."""

    def set_software(self, software: Mapping[str, Sequence[str]], *, imported_at: datetime) -> None:
        """Replace the imported software of each asset named (an empty list clears it)."""

    def imported_software(self) -> dict[str, tuple[str, ...]]:
        """Imported software by asset, names sorted."""

    def record_patch(self, patch: Patch) -> None:
        """Record a patch (a second one for the same asset and advisory replaces it)."""

    def patches(self) -> list[Patch]:
        """Every recorded patch, by asset then advisory."""

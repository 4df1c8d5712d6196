"""Port: the catalogue (regions, domains, indicators, assets, units) as last applied."""

from __future__ import annotations

from typing import Protocol

from tocsin.core.catalog import Catalog


class CatalogStore(Protocol):
    """The stored configuration; indicator ids stay stable per code across reloads."""

    def sync(self, catalog: Catalog) -> dict[str, int]:
        """Store the catalogue; return indicator code -> stable id (new codes get new ids)."""

    def indicator_ids(self) -> dict[str, int]:
        """Indicator code -> id as stored."""

    def stored(self) -> Catalog | None:
        """The catalogue as last stored, with indicators placed at their ids (None if empty)."""

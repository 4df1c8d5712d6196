"""The catalogue in memory."""

from __future__ import annotations

from dataclasses import replace

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.catalog import Catalog


class MemoryCatalog:
    """The CatalogStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def indicator_ids(self) -> dict[str, int]:
        """Indicator code -> id (ids of codes no longer configured are kept)."""
        return dict(self.state.indicator_ids)

    def sync(self, catalog: Catalog) -> dict[str, int]:
        """Replace the catalogue; indicator ids stay stable per code."""
        ids = self.state.indicator_ids
        for ind in catalog.indicators:
            if ind.code not in ids:
                ids[ind.code] = max(ids.values(), default=-1) + 1
        self.state.catalog = catalog
        return {i.code: ids[i.code] for i in catalog.indicators}

    def stored(self) -> Catalog | None:
        """The catalogue with indicators placed in id order."""
        catalog = self.state.catalog
        if catalog is None:
            return None
        ids = self.state.indicator_ids
        ordered = tuple(sorted(catalog.indicators, key=lambda i: ids[i.code]))
        return replace(catalog, indicators=ordered)

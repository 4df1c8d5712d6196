"""Where records are placed (a region and a domain) and the terms of a filter on it: the domain
prefix, the regions and the access scope that warning and incident filters share. The Python
answers are here (the memory stores' scans); `sql.warning_search.placed_within` is the same in
SQL."""

from __future__ import annotations

from typing import Protocol

from tocsin.core.access import Placement, Scope, sees
from tocsin.core.domains import is_domain_within


def is_seen(scope: Scope, region: str, domain: str) -> bool:
    """Whether the scope holds a record placed in this region and domain."""
    return scope.national or sees(scope, Placement(region, domain))


class PlacedQuery(Protocol):
    """A filter's terms on where records are placed (warning and incident filters have them)."""

    @property
    def domain_prefix(self) -> str | None:
        """Only this domain and its sub-domains (None: every domain)."""

    @property
    def regions(self) -> tuple[str, ...] | None:
        """Only these regions (None: every region)."""

    @property
    def scope(self) -> Scope:
        """Only the regions and domains this scope holds."""


def is_placed_within(region: str, domain: str, query: PlacedQuery) -> bool:
    """Whether a record placed in this region and domain passes a filter's domain prefix,
    regions and scope (what `sql.warning_search.placed_within` is in SQL)."""
    prefix = query.domain_prefix
    return (
        (prefix is None or is_domain_within(domain, prefix))
        and (query.regions is None or region in query.regions)
        and is_seen(query.scope, region, domain)
    )

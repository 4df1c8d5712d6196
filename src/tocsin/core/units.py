"""Responsible units: who must act for a (region, domain), and the escalation chain above them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NewType

from tocsin.core.domains import DomainCode
from tocsin.core.regions import RegionCode, RegionTree

UnitCode = NewType("UnitCode", str)


@dataclass(frozen=True, slots=True)
class ResponsibleUnit:
    """A unit (district office, operator, agency) responsible for regions and domains."""

    code: UnitCode
    name: str
    region: RegionCode
    domains: tuple[DomainCode, ...] = ()
    email: str | None = None
    webhook_url: str | None = None

    def covers(self, domain: DomainCode, domain_ancestors: tuple[DomainCode, ...] = ()) -> bool:
        """True when the unit handles this domain (no domains listed: it handles all)."""
        if not self.domains:
            return True
        return domain in self.domains or any(d in self.domains for d in domain_ancestors)


def responsible_chain(
    units: Mapping[UnitCode, ResponsibleUnit],
    tree: RegionTree,
    *,
    region: RegionCode,
    domain: DomainCode,
    domain_ancestors: tuple[DomainCode, ...] = (),
) -> list[ResponsibleUnit]:
    """Units for (region, domain) from the region itself up to the root: index 0 acts first."""
    by_region: dict[RegionCode, list[ResponsibleUnit]] = {}
    for unit in units.values():
        by_region.setdefault(unit.region, []).append(unit)
    chain: list[ResponsibleUnit] = []
    for code in [region, *tree.ancestors(region)]:
        matching = [u for u in by_region.get(code, []) if u.covers(domain, domain_ancestors)]
        # a unit naming the domain explicitly wins over a catch-all unit of the same region
        matching.sort(key=lambda u: (not u.domains, u.code))
        if matching:
            chain.append(matching[0])
    return chain

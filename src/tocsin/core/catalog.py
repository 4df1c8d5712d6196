"""The catalogue: validated domain configuration (regions, domains, indicators, assets, units)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tocsin.core.assets import Asset, AssetCode, dependency_cycles
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.errors import Problem
from tocsin.core.exposure.inventory import asset_exposure_problems
from tocsin.core.indicators import Direction, Indicator, IndicatorCode
from tocsin.core.regions import RegionTree, parent_cycles
from tocsin.core.units import ResponsibleUnit, UnitCode


@dataclass(frozen=True)
class Catalog:
    """Everything configured; indicators keep their order, which gives each its series index."""

    regions: RegionTree
    domains: Mapping[DomainCode, Domain]
    indicators: tuple[Indicator, ...] = ()
    assets: Mapping[AssetCode, Asset] = field(default_factory=dict)
    units: Mapping[UnitCode, ResponsibleUnit] = field(default_factory=dict)

    def indicator_index(self) -> dict[IndicatorCode, int]:
        """Series index of every indicator code."""
        return {ind.code: i for i, ind in enumerate(self.indicators)}

    def domain_ancestors(self, code: DomainCode) -> tuple[DomainCode, ...]:
        """The domain's parents up to the taxonomy root."""
        out: list[DomainCode] = []
        parent = self.domains[code].parent if code in self.domains else None
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.domains[parent].parent if parent in self.domains else None
        return tuple(out)


def catalog_problems(
    catalog: Catalog, *, where: Mapping[str, str], detector_kinds: frozenset[str] = frozenset()
) -> list[Problem]:
    """Cross-reference problems; `where` maps a section name to the file it came from."""
    problems: list[Problem] = []
    tree = catalog.regions

    def add(section: str, path: str, reason: str) -> None:
        problems.append(Problem(where.get(section, section), path, reason))

    for region in tree.regions.values():
        if region.parent is not None and region.parent not in tree:
            add("regions", f"regions[{region.code}].parent", f"unknown region {region.parent!r}")
        if region.level not in tree.levels:
            add("regions", f"regions[{region.code}].level", f"unknown level {region.level!r}")
    for loop in tree.cycles():
        add("regions", f"regions[{loop[0]}].parent", "parent cycle " + " -> ".join(loop))
    for domain in catalog.domains.values():
        if domain.parent is not None and domain.parent not in catalog.domains:
            add("domains", f"domains[{domain.code}].parent", f"unknown domain {domain.parent!r}")
    for chain in parent_cycles({c: d.parent for c, d in catalog.domains.items()}):
        add("domains", f"domains[{chain[0]}].parent", "parent cycle " + " -> ".join(chain))
    seen: set[str] = set()
    for ind in catalog.indicators:
        path = f"indicators[{ind.code}]"
        if ind.code in seen:
            add("indicators", f"{path}.code", f"duplicate indicator code {ind.code!r}")
        seen.add(ind.code)
        if ind.region not in tree:
            add("indicators", f"{path}.region", f"unknown region {ind.region!r}")
        if ind.domain not in catalog.domains:
            add("indicators", f"{path}.domain", f"unknown domain {ind.domain!r}")
        if ind.asset is not None and ind.asset not in catalog.assets:
            add("indicators", f"{path}.asset", f"unknown asset {ind.asset!r}")
        for reason in ind.thresholds.problems(ind.direction):
            add("indicators", f"{path}.thresholds", reason)
        if ind.detector is not None:
            if ind.detector.kind not in detector_kinds:
                known = ", ".join(sorted(detector_kinds))
                add(
                    "indicators",
                    f"{path}.detector.kind",
                    f"unknown detector {ind.detector.kind!r} (known: {known})",
                )
            for reason in ind.detector.thresholds.problems(Direction.HIGHER_IS_WORSE):
                add("indicators", f"{path}.detector.thresholds", reason)
    for asset in catalog.assets.values():
        code = asset.code
        if asset.region not in tree:
            add("assets", f"assets[{code}].region", f"unknown region {asset.region!r}")
        if asset.domain not in catalog.domains:
            add("assets", f"assets[{code}].domain", f"unknown domain {asset.domain!r}")
        for dep in asset.depends_on:
            if dep not in catalog.assets:
                add("assets", f"assets[{code}].depends_on", f"unknown asset {dep!r}")
    for section, path, reason in asset_exposure_problems(
        catalog.assets, indicators={i.code: i.asset for i in catalog.indicators}
    ):
        add(section, path, reason)
    for cycle in dependency_cycles(dict(catalog.assets)):
        add("assets", f"assets[{cycle[0]}].depends_on", "dependency cycle " + " -> ".join(cycle))
    for unit in catalog.units.values():
        if unit.region not in tree:
            add("units", f"units[{unit.code}].region", f"unknown region {unit.region!r}")
        for d in unit.domains:
            if d not in catalog.domains:
                add("units", f"units[{unit.code}].domains", f"unknown domain {d!r}")
    return problems

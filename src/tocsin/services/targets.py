"""How the pipeline sees a warning: labels, region and domain chains, responsible units, assets.

Besides its own labels, a warning is labelled with the region it lies in at every level of the
hierarchy, `region_<level>` (`region_district: D11`, `region_province: P1` for a cell of D11 in
P1; characters other than letters, digits and `_` in a level's name become `_`), so that a route
can group a storm of grid-cell warnings by district (`group_by: [region_district, domain]`) or
match a province's whole subtree by label.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import lru_cache

from tocsin.core.assets import AssetCode, dependants
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.regions import RegionCode
from tocsin.core.units import responsible_chain
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.selectors import Target


class TargetBuilder:
    """Turns warnings into targets using the catalogue (cached per region and domain)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._asset_of_subject: dict[str, str] = {
            i.code: i.asset for i in catalog.indicators if i.asset
        }
        # asset -> every asset it depends on, directly or not (inverse of `dependants`)
        self._depends: dict[str, set[str]] = {}
        for code in catalog.assets:
            for dependant in dependants(dict(catalog.assets), AssetCode(code)):
                self._depends.setdefault(dependant, set()).add(code)
        self.region_chain = lru_cache(maxsize=65536)(self._region_chain)
        self.domain_chain = lru_cache(maxsize=4096)(self._domain_chain)
        self.chain = lru_cache(maxsize=65536)(self._units)
        self.subtree = lru_cache(maxsize=4096)(self._subtree)
        self.all_regions = tuple(catalog.regions.regions)
        self.region_labels = lru_cache(maxsize=65536)(self._region_labels)

    def _region_labels(self, region: str) -> Mapping[str, str]:
        """`region_<level>` for the region and each region above it."""
        tree = self.catalog.regions
        return {
            level_label(tree.regions[RegionCode(code)].level): code
            for code in self.region_chain(region)
            if code in tree
        }

    def _subtree(self, region: str) -> tuple[str, ...]:
        """The region and every region below it."""
        if region not in self.catalog.regions:
            return (region,)
        return tuple(self.catalog.regions.subtree(RegionCode(region)))

    def regions_below(self, region: str) -> tuple[str, ...]:
        """Every region strictly below `region`."""
        return self.subtree(region)[1:]

    def dependants_of(self, asset: str) -> set[str]:
        """The assets that depend on `asset`, directly or not."""
        if asset not in self.catalog.assets:
            return set()
        return set(dependants(dict(self.catalog.assets), AssetCode(asset)))

    def _region_chain(self, region: str) -> tuple[str, ...]:
        tree = self.catalog.regions
        if region not in tree:
            return (region,)
        return (region, *tree.ancestors(RegionCode(region)))

    def _domain_chain(self, domain: str) -> tuple[str, ...]:
        return (domain, *self.catalog.domain_ancestors(DomainCode(domain)))

    def _units(self, region: str, domain: str) -> tuple[str, ...]:
        """Responsible unit codes for (region, domain), own region first."""
        if region not in self.catalog.regions:
            return ()
        chain = responsible_chain(
            self.catalog.units,
            self.catalog.regions,
            region=RegionCode(region),
            domain=DomainCode(domain),
            domain_ancestors=self.catalog.domain_ancestors(DomainCode(domain)),
        )
        return tuple(u.code for u in chain)

    def asset_of(self, warning: Warning) -> str:
        """The asset a warning is about ('' if none)."""
        return str(warning.labels.get("asset") or self._asset_of_subject.get(warning.subject) or "")

    def asset_regions(self, assets: Collection[str]) -> set[str]:
        """Regions of the given assets."""
        return {
            self.catalog.assets[AssetCode(a)].region for a in assets if a in self.catalog.assets
        }

    def target(self, warning: Warning) -> Target:
        """The target view of a warning."""
        units = self.chain(warning.region, warning.domain)
        asset = self.asset_of(warning)
        labels = {
            **self.region_labels(warning.region),
            **{k: str(v) for k, v in warning.labels.items()},
            "source": warning.source,
            "subject": warning.subject,
            "region": warning.region,
            "domain": warning.domain,
            "level": warning.level.value,
            "unit": units[0] if units else "",
        }
        if asset:
            labels["asset"] = asset
        return Target(
            warning_id=warning.id,
            fingerprint=warning.fingerprint,
            level=warning.level,
            labels=labels,
            regions=self.region_chain(warning.region),
            domains=self.domain_chain(warning.domain),
            depends_on=frozenset(self._depends.get(asset, ())),
        )


def level_label(level: str) -> str:
    """The label naming a warning's region at one level of the hierarchy: `region_<level>`."""
    return "region_" + re.sub(r"[^A-Za-z0-9_]", "_", level)

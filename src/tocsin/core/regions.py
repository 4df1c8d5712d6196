"""Regions: nodes of the administrative hierarchy, whose levels are configuration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NewType, TypeVar

RegionCode = NewType("RegionCode", str)
K = TypeVar("K", bound=str)


@dataclass(frozen=True, slots=True)
class Region:
    """One region: code, name, level (e.g. 'province'), parent, GeoJSON geometry, population."""

    code: RegionCode
    name: str
    level: str
    parent: RegionCode | None = None
    geometry: Mapping[str, Any] | None = None
    population: float | None = None


@dataclass(frozen=True)
class RegionTree:
    """The region hierarchy with parent/children look-ups and subtree queries."""

    levels: tuple[str, ...]
    regions: Mapping[RegionCode, Region]
    children: Mapping[RegionCode, tuple[RegionCode, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, levels: tuple[str, ...], regions: list[Region]) -> RegionTree:
        """Index regions by code and compute children lists (input order kept)."""
        by_code = {r.code: r for r in regions}
        kids: dict[RegionCode, list[RegionCode]] = {r.code: [] for r in regions}
        for r in regions:
            if r.parent is not None and r.parent in kids:
                kids[r.parent].append(r.code)
        return cls(levels, by_code, {k: tuple(v) for k, v in kids.items()})

    def __contains__(self, code: object) -> bool:
        """True when the code names a region."""
        return code in self.regions

    def roots(self) -> list[Region]:
        """Regions without a parent."""
        return [r for r in self.regions.values() if r.parent is None]

    def ancestors(self, code: RegionCode) -> list[RegionCode]:
        """The chain from the region's parent up to its root."""
        out: list[RegionCode] = []
        parent = self.regions[code].parent
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.regions[parent].parent
        return out

    def subtree(self, code: RegionCode) -> Iterator[RegionCode]:
        """The region and all its descendants (depth first; each once, even under a cycle)."""
        stack = [code]
        seen: set[RegionCode] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            yield current
            stack.extend(reversed(self.children.get(current, ())))

    def cycles(self) -> list[list[RegionCode]]:
        """Parent chains that come back to where they started (a valid hierarchy has none)."""
        return parent_cycles({code: r.parent for code, r in self.regions.items()})

    def is_within(self, code: RegionCode, ancestor: RegionCode) -> bool:
        """True when `code` is `ancestor` or lies below it."""
        return code == ancestor or ancestor in self.ancestors(code)


def parent_cycles(parents: Mapping[K, K | None]) -> list[list[K]]:
    """Each cycle of a child -> parent map once, as `[a, b, …, a]`."""
    done: set[K] = set()
    out: list[list[K]] = []
    for start in parents:
        path: list[K] = []
        on_path: set[K] = set()
        node: K | None = start
        while node is not None and node in parents and node not in done and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parents[node]
        if node is not None and node in on_path:
            loop = path[path.index(node) :]
            out.append([*loop, node])
        done |= on_path
    return out

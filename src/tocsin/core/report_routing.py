"""Routing a point to the smallest region that holds it, and that region's responsible unit.

The index is a uniform grid of buckets over the regions' extent; each region is listed in the
buckets its bounding box overlaps, deepest level first, smaller boxes first. A look-up tests only
the regions of the point's bucket, so it stays fast with 100,000 grid cells: the first region
whose polygon holds the point is the smallest one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.geometry import bounds, contains
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.reports import Point
from tocsin.core.units import responsible_chain

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Placed:
    """A region in the index: its code, bounding box and geometry."""

    code: RegionCode
    box: Box
    geometry: Mapping[str, Any]


@dataclass(frozen=True)
class RegionIndex:
    """Buckets of candidate regions over the extent of all regions."""

    origin: tuple[float, float]
    size: tuple[float, float]
    shape: tuple[int, int]
    buckets: Mapping[tuple[int, int], tuple[Placed, ...]]

    @classmethod
    def build(cls, tree: RegionTree) -> RegionIndex:
        """Index every region that has a geometry."""
        depth = {level: i for i, level in enumerate(tree.levels)}
        placed = [
            Placed(r.code, bounds(r.geometry), r.geometry)
            for r in tree.regions.values()
            if r.geometry is not None
        ]
        placed.sort(key=lambda p: (-depth.get(tree.regions[p.code].level, 0), _area(p.box)))
        if not placed:
            return cls((0.0, 0.0), (1.0, 1.0), (1, 1), {})
        extent = _union([p.box for p in placed])
        side = max(1, math.ceil(math.sqrt(len(placed))))
        size = (_span(extent[0], extent[2]) / side, _span(extent[1], extent[3]) / side)
        index = cls((extent[0], extent[1]), size, (side, side), {})
        buckets: dict[tuple[int, int], list[Placed]] = {}
        for p in placed:
            for key in index._keys(p.box):
                buckets.setdefault(key, []).append(p)
        return cls(index.origin, size, index.shape, {k: tuple(v) for k, v in buckets.items()})

    def _bucket(self, x: float, y: float) -> tuple[int, int]:
        col = min(max(int((x - self.origin[0]) / self.size[0]), 0), self.shape[0] - 1)
        row = min(max(int((y - self.origin[1]) / self.size[1]), 0), self.shape[1] - 1)
        return col, row

    def _keys(self, box: Box) -> list[tuple[int, int]]:
        c0, r0 = self._bucket(box[0], box[1])
        c1, r1 = self._bucket(box[2], box[3])
        return [(c, r) for c in range(c0, c1 + 1) for r in range(r0, r1 + 1)]

    def locate(self, point: Point) -> RegionCode | None:
        """The smallest region whose polygon holds the point (None: outside every region)."""
        x, y = point.lon, point.lat
        for p in self.buckets.get(self._bucket(x, y), ()):
            box = p.box
            if box[0] <= x <= box[2] and box[1] <= y <= box[3] and contains(p.geometry, x, y):
                return p.code
        return None


@dataclass(frozen=True, slots=True)
class Route:
    """Where a report goes: its region and the unit that handles it (None: no unit covers it)."""

    region: RegionCode
    unit: str | None


def route(index: RegionIndex, catalog: Catalog, *, point: Point, domain: str) -> Route | None:
    """The region holding the point and the first unit responsible for it and the domain, from
    the region up its ancestors (None: the point lies outside every region)."""
    region = index.locate(point)
    if region is None:
        return None
    code = DomainCode(domain)
    chain = responsible_chain(
        catalog.units,
        catalog.regions,
        region=region,
        domain=code,
        domain_ancestors=catalog.domain_ancestors(code),
    )
    return Route(region, chain[0].code if chain else None)


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _span(low: float, high: float) -> float:
    return max(high - low, 1e-9)


def _union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )

"""Regions as CAP areas, and the regions a CAP area covers.

Going out, each region is one `area`: its name, a `polygon` per part of its geometry (the outer
ring, simplified to the configured number of points; holes are left out, so the area covers the
region), the largest parts first up to a limit, and a `geocode` naming the region's code. Coming
in, an area's geocodes name regions directly; otherwise its polygons and circles are matched
against the regions' geometry from the roots down, keeping the most specific regions they
overlap (a polygon over a whole province lands in its districts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.core.cap import geometry as geo
from tocsin.core.cap.message import Area, NamedValue
from tocsin.core.regions import Region, RegionCode, RegionTree

Shape = tuple[geo.Ring, tuple[float, float, float, float]]  # an outer ring and its box


def outer_rings(geometry: Mapping[str, Any] | None) -> list[geo.Ring]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon, open, largest first."""
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    rings = [geo.opened([(float(p[0]), float(p[1])) for p in poly[0]]) for poly in polygons if poly]
    rings = [r for r in rings if len(r) >= 3]
    return sorted(rings, key=geo.ring_area, reverse=True)


def region_area(region: Region, *, max_points: int, max_polygons: int, geocode_name: str) -> Area:
    """The CAP area of one region: its simplified outer rings and a geocode with its code
    (simplifying takes a while on detailed shapes: callers keep the result, regions do not
    change)."""
    rings = outer_rings(region.geometry)[:max_polygons]
    texts = (geo.format_polygon(geo.simplify(ring, max_points)) for ring in rings)
    return Area(
        description=region.name,
        polygons=tuple(t for t in texts if len(t.split()) >= 4),
        geocodes=(NamedValue(geocode_name, region.code),),
    )


@dataclass(frozen=True)
class RegionIndex:
    """The regions' shapes with their boxes, to find what a CAP area covers."""

    tree: RegionTree
    shapes: Mapping[RegionCode, tuple[Shape, ...]]

    @classmethod
    def build(cls, tree: RegionTree) -> RegionIndex:
        """Index every region that has a geometry."""
        shapes = {
            code: tuple((ring, geo.bbox(ring)) for ring in outer_rings(region.geometry))
            for code, region in tree.regions.items()
        }
        return cls(tree, {code: s for code, s in shapes.items() if s})

    def by_geocode(self, geocodes: Iterable[NamedValue], names: Iterable[str]) -> list[RegionCode]:
        """Regions named by geocodes whose valueName is one of `names`."""
        wanted = set(names)
        found = [
            RegionCode(g.value.strip())
            for g in geocodes
            if g.name.strip() in wanted and g.value.strip() in self.tree
        ]
        return list(dict.fromkeys(found))

    def covered(self, area: Area) -> list[RegionCode]:
        """The most specific regions the area's polygons and circles overlap."""
        rings = [geo.opened(geo.parse_polygon(p)) for p in area.polygons]
        circles = [geo.parse_circle(c) for c in area.circles]
        if not rings and not circles:
            return []
        out: list[RegionCode] = []
        for root in self.tree.roots():
            self._descend(root.code, rings=rings, circles=circles, out=out)
        return out

    def _descend(
        self,
        code: RegionCode,
        *,
        rings: Sequence[geo.Ring],
        circles: Sequence[tuple[geo.Point, float]],
        out: list[RegionCode],
    ) -> bool:
        """Add the most specific overlapped regions at or below `code`; True when any."""
        shapes = self.shapes.get(code)
        if shapes is not None and not self._meets(shapes, rings=rings, circles=circles):
            return False
        below = [
            self._descend(k, rings=rings, circles=circles, out=out)
            for k in self.tree.children.get(code, ())
        ]
        if any(below):
            return True
        if shapes is not None:
            out.append(code)
            return True
        return False

    @staticmethod
    def _meets(
        shapes: Sequence[Shape],
        *,
        rings: Sequence[geo.Ring],
        circles: Sequence[tuple[geo.Point, float]],
    ) -> bool:
        for ring, box in shapes:
            for other in rings:
                if geo.boxes_meet(box, geo.bbox(other)) and geo.rings_intersect(ring, other):
                    return True
            for centre, radius in circles:
                if geo.circle_meets_ring(centre, radius, ring):
                    return True
        return False

"""Small geometry for the demo: point-in-polygon and grid cells over a country's shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Ring = Sequence[Sequence[float]]


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    """Ray casting: True when (x, y) lies inside the ring."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def contains(geometry: Mapping[str, Any], x: float, y: float) -> bool:
    """True when a GeoJSON Polygon or MultiPolygon contains the point (holes respected)."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for rings in polygons:
        if _in_ring(x, y, rings[0]) and not any(_in_ring(x, y, hole) for hole in rings[1:]):
            return True
    return False


def bounds(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a Polygon or MultiPolygon."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    xs = [p[0] for rings in polygons for ring in rings for p in ring]
    ys = [p[1] for rings in polygons for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def cell(x0: float, y0: float, size: float) -> dict[str, Any]:
    """A square GeoJSON polygon with its south-west corner at (x0, y0)."""
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(a, 4), round(b, 4)] for a, b in ring]]}


def grid_cells(geometry: Mapping[str, Any], size: float) -> list[tuple[int, int, dict[str, Any]]]:
    """Grid cells (column, row, polygon) whose centre lies inside the geometry."""
    min_x, min_y, max_x, max_y = bounds(geometry)
    out = []
    col = 0
    x = min_x
    while x < max_x:
        row = 0
        y = min_y
        while y < max_y:
            if contains(geometry, x + size / 2, y + size / 2):
                out.append((col, row, cell(x, y, size)))
            y += size
            row += 1
        x += size
        col += 1
    return out


def multipolygon(polygons: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One MultiPolygon made of several Polygons."""
    return {"type": "MultiPolygon", "coordinates": [p["coordinates"] for p in polygons]}

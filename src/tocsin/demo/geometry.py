"""Small geometry for the demo: point-in-polygon and grid cells over a country's shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tocsin.core.geometry import bounds, contains

__all__ = ["bounds", "cell", "contains", "grid_cells", "multipolygon"]


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

"""Plane geometry of GeoJSON polygons: point-in-polygon (holes respected) and bounds."""

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

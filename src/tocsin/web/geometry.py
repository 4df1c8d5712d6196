"""Lighter GeoJSON for the map: coordinates rounded to a grid, repeated points dropped.

Rounding to `digits` decimals of a degree (2 ≈ 1.1 km, 3 ≈ 110 m) and removing the points that
collapse onto their predecessor keeps shapes recognisable at the zoom where they are shown, and
cuts the world's countries to a fraction of their size. Rings left with fewer than four points
(a closed triangle) are dropped, and polygons left without an outer ring too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Ring = list[list[float]]


def round_ring(ring: Sequence[Sequence[float]], digits: int) -> Ring:
    """A ring with rounded coordinates and without consecutive duplicates (still closed)."""
    out: Ring = []
    for point in ring:
        p = [round(float(point[0]), digits), round(float(point[1]), digits)]
        if not out or out[-1] != p:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(list(out[0]))
    return out


def _polygon(rings: Sequence[Sequence[Sequence[float]]], digits: int) -> list[Ring] | None:
    kept = [r for r in (round_ring(ring, digits) for ring in rings) if len(r) >= 4]
    if not kept or len(round_ring(rings[0], digits)) < 4:
        return None
    return kept


def simplify(geometry: Any, digits: int) -> dict[str, Any] | None:
    """A Polygon or MultiPolygon rounded to `digits` decimals (None if nothing is left)."""
    if not geometry:
        return None
    kind = geometry.get("type")
    if kind == "Polygon":
        rings = _polygon(geometry["coordinates"], digits)
        return {"type": "Polygon", "coordinates": rings} if rings else None
    if kind == "MultiPolygon":
        polygons = [p for p in (_polygon(c, digits) for c in geometry["coordinates"]) if p]
        return {"type": "MultiPolygon", "coordinates": polygons} if polygons else None
    return dict(geometry)


def extent_digits(geometry: Any) -> int:
    """Decimals worth keeping for the children of a shape this size (2 for a continent, up to 4)."""
    box = bounds(geometry)
    if box is None:
        return 2
    west, south, east, north = box
    span = max(east - west, north - south)
    if span > 30:
        return 2
    if span > 3:
        return 3
    return 4


def bounds(geometry: Any) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a shape's coordinates, or None when it has none."""
    xs: list[float] = []
    ys: list[float] = []
    _collect(geometry.get("coordinates", []) if geometry else [], xs, ys)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _collect(node: Any, xs: list[float], ys: list[float]) -> None:
    if node and isinstance(node[0], int | float):
        xs.append(float(node[0]))
        ys.append(float(node[1]))
        return
    for child in node:
        _collect(child, xs, ys)

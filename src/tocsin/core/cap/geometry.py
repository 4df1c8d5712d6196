"""CAP shapes: polygons (`lat,lon lat,lon …`, closed, at least 4 points) and circles
(`lat,lon radius_km`), on WGS 84 as CAP 1.2 §3.2.4 states.

Inside, a point is `(x, y)` = (longitude, latitude), as GeoJSON writes it; only the CAP text is
latitude first. Rings are simplified to a number of points by Visvalingam and Whyatt's
effective-area method (Cartographic Journal 30(1), 1993): the point spanning the smallest
triangle with its neighbours goes first. A ring that crosses itself afterwards is simplified
again with a guard that refuses removals creating a crossing, and as a last resort replaced by
its convex hull (which covers it: a warning area may be larger than the region, never smaller).
Intersection means a shared interior: rings that only touch along a border do not intersect.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import Final

Point = tuple[float, float]  # (longitude, latitude)
Ring = list[Point]  # open: the closing point is not repeated
EARTH_RADIUS_KM: Final = 6371.0088
DECIMALS: Final = 5  # about a metre


def parse_polygon(text: str) -> Ring:
    """The points of a CAP polygon, closing point included; ValueError when a pair is not
    `lat,lon` with the latitude in [-90, 90] and the longitude in [-180, 180]."""
    points: Ring = []
    for n, pair in enumerate(text.split()):
        lat_text, sep, lon_text = pair.partition(",")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise ValueError(f"point {n + 1} {pair!r} is not lat,lon") from None
        if not sep or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"point {n + 1} {pair!r} is not lat,lon within range")
        points.append((lon, lat))
    return points


def format_polygon(ring: Sequence[Point]) -> str:
    """A ring (open or closed) as CAP polygon text, closed, without repeated points."""
    out: list[str] = []
    for x, y in ring:
        pair = f"{_num(y)},{_num(x)}"
        if not out or out[-1] != pair:
            out.append(pair)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return " ".join([*out, out[0]]) if out else ""


def _num(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_circle(text: str) -> tuple[Point, float]:
    """The centre and radius (km) of a CAP circle; ValueError when it is not `lat,lon radius`."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not 'lat,lon radius'")
    centre = parse_polygon(parts[0])
    try:
        radius = float(parts[1])
    except ValueError:
        raise ValueError(f"radius {parts[1]!r} is not a number") from None
    if not math.isfinite(radius) or radius < 0:
        raise ValueError(f"radius {parts[1]!r} is not a distance in km (0 or more)")
    return centre[0], radius


def opened(ring: Sequence[Point]) -> Ring:
    """The ring without its closing point (and without consecutive repeats)."""
    out: Ring = []
    for p in ring:
        if not out or out[-1] != p:
            out.append((float(p[0]), float(p[1])))
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def area2(a: Point, b: Point, c: Point) -> float:
    """Twice the signed area of the triangle abc (positive when counter-clockwise)."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def ring_area(ring: Sequence[Point]) -> float:
    """The (unsigned) area of an open ring, in square degrees."""
    n = len(ring)
    twice = sum(
        ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1] for i in range(n)
    )
    return abs(twice) / 2


def _crosses(a: Point, b: Point, c: Point, d: Point) -> bool:
    """True when segments ab and cd share a point (touching and overlapping included)."""
    d1, d2 = area2(c, d, a), area2(c, d, b)
    d3, d4 = area2(a, b, c), area2(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    if d1 and d2 and d3 and d4:
        return False
    return (
        (d1 == 0 and _on(c, d, a))
        or (d2 == 0 and _on(c, d, b))
        or (d3 == 0 and _on(a, b, c))
        or (d4 == 0 and _on(a, b, d))
    )


def _properly_crosses(a: Point, b: Point, c: Point, d: Point) -> bool:
    """True when segments ab and cd cross at one point inside both (no touching)."""
    d1, d2 = area2(c, d, a), area2(c, d, b)
    d3, d4 = area2(a, b, c), area2(a, b, d)
    return ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4))


def _on(p: Point, q: Point, r: Point) -> bool:
    """True when r (collinear with pq) lies on the segment pq."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def is_simple(ring: Sequence[Point]) -> bool:
    """True when an open ring of at least 3 points does not cross or touch itself (edges are
    swept by their left end, so only edges whose spans overlap are compared)."""
    n = len(ring)
    if n < 3 or ring_area(ring) == 0:
        return False
    edges = sorted((min(ring[i][0], ring[(i + 1) % n][0]), i) for i in range(n))
    for pos, (_, i) in enumerate(edges):
        a, b = ring[i], ring[(i + 1) % n]
        right, low, high = max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1])
        for left, j in edges[pos + 1 :]:
            if left > right:
                break
            if abs(i - j) in (1, n - 1):
                continue  # neighbours share a point by construction
            c, d = ring[j], ring[(j + 1) % n]
            if max(c[1], d[1]) < low or min(c[1], d[1]) > high:
                continue
            if _crosses(a, b, c, d):
                return False
    return True


def simplify(ring: Sequence[Point], max_points: int) -> Ring:
    """An open ring of at most `max_points - 1` points (the closing point makes max_points),
    simple when the input was: Visvalingam-Whyatt, else a guarded pass, else the hull."""
    points = opened(ring)
    keep = max(3, max_points - 1)
    if len(points) <= keep and is_simple(points):
        return points
    fast = _visvalingam(points, keep, guard=False)
    if is_simple(fast):
        return fast
    coarse = _visvalingam(points, min(len(points), keep * 4), guard=False)
    if is_simple(coarse):
        guarded = _visvalingam(coarse, keep, guard=True)
        if len(guarded) <= keep and is_simple(guarded):
            return guarded
    hull = convex_hull(points)
    return hull if len(hull) <= keep else _visvalingam(hull, keep, guard=False)


def _visvalingam(points: Ring, keep: int, *, guard: bool) -> Ring:
    """Remove the point of least effective area until `keep` remain (with `guard`, never a
    point whose removal would make the ring cross itself)."""
    n = len(points)
    if n <= keep:
        return list(points)
    prev = [(i - 1) % n for i in range(n)]
    nxt = [(i + 1) % n for i in range(n)]
    alive = [True] * n
    heap = [(abs(area2(points[prev[i]], points[i], points[nxt[i]])), i) for i in range(n)]
    heapq.heapify(heap)
    left, skipped = n, set[int]()
    while left > keep and heap:
        size, i = heapq.heappop(heap)
        current = abs(area2(points[prev[i]], points[i], points[nxt[i]]))
        if not alive[i] or size != current:
            if alive[i]:
                heapq.heappush(heap, (current, i))
            continue
        if guard and _would_cross(points, prev, nxt, i):
            skipped.add(i)
            continue
        alive[i] = False
        left -= 1
        p, q = prev[i], nxt[i]
        nxt[p], prev[q] = q, p
        for j in (p, q):
            skipped.discard(j)
            heapq.heappush(heap, (abs(area2(points[prev[j]], points[j], points[nxt[j]])), j))
    return [points[i] for i in range(n) if alive[i]]


def _would_cross(points: Ring, prev: list[int], nxt: list[int], i: int) -> bool:
    """Whether joining i's neighbours directly crosses an edge of the ring that does not end
    at either of them."""
    a, b = prev[i], nxt[i]
    pa, pb = points[a], points[b]
    left, right = min(pa[0], pb[0]), max(pa[0], pb[0])
    low, high = min(pa[1], pb[1]), max(pa[1], pb[1])
    j = b
    while j != a:
        k = nxt[j]
        c, d = points[j], points[k]
        if (
            j != b
            and k != a
            and not (max(c[0], d[0]) < left or min(c[0], d[0]) > right)
            and not (max(c[1], d[1]) < low or min(c[1], d[1]) > high)
            and _crosses(pa, pb, c, d)
        ):
            return True
        j = k
    return False


def convex_hull(points: Sequence[Point]) -> Ring:
    """The convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return list(pts)
    lower: Ring = []
    upper: Ring = []
    for p in pts:
        while len(lower) >= 2 and area2(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and area2(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def bbox(ring: Sequence[Point]) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y)."""
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def boxes_meet(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """True when two bounding boxes overlap."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def contains(ring: Sequence[Point], point: Point) -> bool:
    """Ray casting: True when the point lies inside the open ring."""
    x, y = point
    inside = False
    n = len(ring)
    for i in range(n):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def rings_intersect(a: Sequence[Point], b: Sequence[Point]) -> bool:
    """True when two open rings share an interior (touching along a border is not enough)."""
    box_a, box_b = bbox(a), bbox(b)
    if not boxes_meet(box_a, box_b):
        return False
    edges_a = _edges_in(a, box_b)
    edges_b = _edges_in(b, box_a)
    for p, q, box in edges_a:
        for r, s, other in edges_b:
            if boxes_meet(box, other) and _properly_crosses(p, q, r, s):
                return True
    return _inside_point(a, b) or _inside_point(b, a)


def _edges_in(
    ring: Sequence[Point], box: tuple[float, float, float, float]
) -> list[tuple[Point, Point, tuple[float, float, float, float]]]:
    """The ring's edges whose bounding box meets `box`, with their boxes."""
    out = []
    n = len(ring)
    for i in range(n):
        p, q = ring[i], ring[(i + 1) % n]
        own = (min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1]))
        if boxes_meet(own, box):
            out.append((p, q, own))
    return out


def _inside_point(a: Sequence[Point], b: Sequence[Point]) -> bool:
    """Whether a point just inside ring a (an edge's midpoint, nudged inwards) lies in b."""
    probes = [_inner_probe(a, i) for i in range(min(len(a), 8))]
    return any(p is not None and contains(b, p) for p in probes)


def _inner_probe(ring: Sequence[Point], i: int) -> Point | None:
    """The midpoint of edge i moved a hair towards the inside (None for a zero-length edge)."""
    (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % len(ring)]
    length = math.hypot(x2 - x1, y2 - y1)
    if length == 0:
        return None
    step = min(1e-6, length / 4)
    nx, ny = -(y2 - y1) / length * step, (x2 - x1) / length * step
    mid = ((x1 + x2) / 2, (y1 + y2) / 2)
    inward = (mid[0] + nx, mid[1] + ny)
    return inward if contains(ring, inward) else (mid[0] - nx, mid[1] - ny)


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine) between two (lon, lat) points, in km."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def circle_meets_ring(centre: Point, radius_km: float, ring: Sequence[Point]) -> bool:
    """True when the circle and the ring share an interior (or the centre lies inside)."""
    if contains(ring, centre):
        return True
    return radius_km > 0 and any(
        _segment_distance_km(centre, ring[i], ring[(i + 1) % len(ring)]) < radius_km
        for i in range(len(ring))
    )


def _segment_distance_km(c: Point, a: Point, b: Point) -> float:
    """Distance from c to segment ab, projected locally (equirectangular around c)."""
    k = math.cos(math.radians(c[1]))
    ax, ay, bx, by = (a[0] - c[0]) * k, a[1] - c[1], (b[0] - c[0]) * k, b[1] - c[1]
    dx, dy = bx - ax, by - ay
    span = dx * dx + dy * dy
    t = 0.0 if span == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / span))
    px, py = ax + t * dx, ay + t * dy
    return math.hypot(px, py) * math.pi / 180 * EARTH_RADIUS_KM

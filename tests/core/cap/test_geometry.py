"""CAP polygons: parsed and written latitude first, simplified to N points staying closed and
simple, and overlapping only when they share an interior."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.cap import geometry as geo

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def star(points: int, wobble: float, *, seed: int = 0) -> geo.Ring:
    """A star-shaped (hence simple) ring of many points around the origin."""
    return [
        (
            math.cos(2 * math.pi * k / points) * (1 + wobble * math.sin(k * 0.37 + seed)),
            math.sin(2 * math.pi * k / points) * (1 + wobble * math.sin(k * 0.37 + seed)),
        )
        for k in range(points)
    ]


def test_text_is_latitude_first_closed_and_without_repeats() -> None:
    text = geo.format_polygon([(10.0, 45.0), (10.0, 45.0), (11.5, 45.0), (11.5, 46.0)])
    assert text == "45,10 45,11.5 46,11.5 45,10"
    assert geo.parse_polygon(text)[0] == (10.0, 45.0)
    with pytest.raises(ValueError, match="point 2"):
        geo.parse_polygon("45,10 95,10 46,11 45,10")
    assert geo.parse_circle("45.5,10.25 12") == ((10.25, 45.5), 12.0)
    for bad in ("45,10", "45,10 -1", "45,10 x", "200,10 3"):
        with pytest.raises(ValueError, match=r"radius|lat,lon|point"):
            geo.parse_circle(bad)


@settings(max_examples=40, deadline=None)
@given(
    points=st.integers(min_value=5, max_value=3000),
    wobble=st.floats(min_value=0.0, max_value=0.6),
    seed=st.integers(min_value=0, max_value=100),
    keep=st.integers(min_value=4, max_value=200),
)
def test_a_simplified_ring_has_at_most_n_points_and_stays_simple(
    points: int, wobble: float, seed: int, keep: int
) -> None:
    ring = star(points, wobble, seed=seed)
    out = geo.simplify(ring, keep)
    assert 3 <= len(out) <= keep - 1  # the closing point makes `keep`
    assert geo.is_simple(out)
    closed = geo.parse_polygon(geo.format_polygon(out))
    assert closed[0] == closed[-1]


def test_a_ring_that_would_cross_itself_falls_back_to_a_covering_shape() -> None:
    comb = [(0.0, 0.0), (10.0, 0.0), (10.0, 1.0)]
    for k in range(10, 0, -1):  # teeth that a coarse simplification would cut across
        comb += [(k - 0.1, 1.0), (k - 0.1, 5.0), (k - 0.9, 5.0), (k - 0.9, 1.0)]
    comb.append((0.0, 1.0))
    assert geo.is_simple(comb)
    out = geo.simplify(comb, 8)
    assert len(out) <= 7
    assert geo.is_simple(out)


def test_self_crossing_and_flat_rings_are_not_simple() -> None:
    assert not geo.is_simple([(0, 0), (1, 1), (1, 0), (0, 1)])  # a bow tie
    assert not geo.is_simple([(0, 0), (1, 0), (2, 0)])  # no area
    assert geo.is_simple(SQUARE)


def test_rings_intersect_when_they_share_an_interior_not_a_border() -> None:
    right = [(x + 1, y) for x, y in SQUARE]
    assert not geo.rings_intersect(SQUARE, right)  # side by side
    assert geo.rings_intersect(SQUARE, [(x + 0.5, y + 0.5) for x, y in SQUARE])
    inner = [(0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)]
    assert geo.rings_intersect(SQUARE, inner)
    assert geo.rings_intersect(inner, SQUARE)
    assert not geo.rings_intersect(SQUARE, [(x + 5, y) for x, y in SQUARE])


def test_circles_meet_rings_within_their_radius() -> None:
    centre = (2.0, 0.5)  # one degree east of the square's edge: about 111 km at the equator
    assert not geo.circle_meets_ring(centre, 100, SQUARE)
    assert geo.circle_meets_ring(centre, 120, SQUARE)
    assert geo.circle_meets_ring((0.5, 0.5), 0, SQUARE)
    assert geo.distance_km((0.0, 0.0), (1.0, 0.0)) == pytest.approx(111.19, abs=0.1)

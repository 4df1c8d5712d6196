"""Routing a point to the smallest region holding it and that region's unit."""

from __future__ import annotations

import random

from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.geometry import contains
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.report_routing import RegionIndex, route
from tocsin.core.reports import Point
from tocsin.demo.geometry import cell
from tocsin.testing.scenario import write_small_config


def test_a_point_goes_to_its_district_and_the_unit_for_the_domain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog = load_catalog(write_small_config(tmp_path))
    index = RegionIndex.build(catalog.regions)
    flood = route(index, catalog, point=Point(45.5, 10.5), domain="natural.flood")
    gas = route(index, catalog, point=Point(45.5, 10.5), domain="supply.energy")
    power = route(index, catalog, point=Point(45.5, 12.5), domain="infrastructure.power")
    assert flood is not None
    assert (flood.region, flood.unit) == ("D11", "D11-FLOOD")
    assert gas is not None
    assert (gas.region, gas.unit) == ("D11", "P1-CP")
    # the nearest unit up the hierarchy wins: P2-CP (all domains) before the national GRID
    assert power is not None
    assert (power.region, power.unit) == ("D21", "P2-CP")
    assert route(index, catalog, point=Point(5.0, 10.5), domain="fire") is None


def test_the_index_agrees_with_a_scan_of_every_region() -> None:
    rng = random.Random(7)
    regions = [Region(RegionCode("ALL"), "all", "nation", geometry=cell(0, 0, 20))]
    for i in range(20):
        for j in range(20):
            code = RegionCode(f"C{i}_{j}")
            regions.append(Region(code, code, "cell", RegionCode("ALL"), cell(i, j, 1)))
    tree = RegionTree.build(("nation", "cell"), regions)
    index = RegionIndex.build(tree)
    for _ in range(2_000):
        x, y = rng.uniform(-2, 22), rng.uniform(-2, 22)
        holding = [
            r.code
            for r in regions[1:] + regions[:1]
            if r.geometry is not None and contains(r.geometry, x, y)
        ]
        assert index.locate(Point(y, x)) == (holding[0] if holding else None)

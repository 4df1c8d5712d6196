"""The catalogue: regions, their GeoJSON, domains, indicators, and the level table."""

from __future__ import annotations

from tests.api.conftest import Api, assert_problem
from tocsin.core.levels import LEVEL_STYLES, NO_LEVEL_COLOUR, Level
from tocsin.testing.scenario import small_config


def test_regions_domains_and_indicators(api: Api) -> None:
    regions = api.client.get("/api/v1/regions").json()
    configured = {r["code"] for r in small_config()["regions.yaml"]["regions"]}
    assert {r["code"] for r in regions} == configured
    p1 = next(r for r in regions if r["code"] == "P1")
    assert p1["children"] == ["D11", "D12"]
    domains = {d["code"]: d["cap_category"] for d in api.client.get("/api/v1/domains").json()}
    assert domains["production.chemicals"] == "CBRNE"
    indicators = api.client.get("/api/v1/indicators", params={"region": "P1"}).json()
    assert {i["region"] for i in indicators} <= {"P1", "D11", "D12"}
    river = next(i for i in indicators if i["code"] == "D11.river_level")
    assert list(river["thresholds"]) == ["blue", "yellow", "orange", "red"]


def test_region_geojson_children_or_roots(api: Api) -> None:
    geo = api.client.get("/api/v1/regions.geojson", params={"parent": "P1"}).json()
    assert geo["type"] == "FeatureCollection"
    assert [f["id"] for f in geo["features"]] == ["D11", "D12"]
    assert geo["features"][0]["geometry"]["type"] == "Polygon"
    roots = api.client.get("/api/v1/regions.geojson").json()
    assert [f["properties"]["has_children"] for f in roots["features"]] == [True]


def test_unknown_region_filters_are_422_naming_them(api: Api) -> None:
    geo = api.client.get("/api/v1/regions.geojson", params={"parent": "NOWHERE"})
    reason = "unknown region 'NOWHERE' (see GET /api/v1/regions)"
    assert_problem(geo, 422, [("parent", "region", reason)])
    ind = api.client.get("/api/v1/indicators", params={"region": "NOWHERE"})
    assert_problem(ind, 422, [("region", "region", reason)])


def test_the_level_table_is_served_from_core(api: Api) -> None:
    table = api.client.get("/api/v1/levels").json()
    assert table["none_colour"] == NO_LEVEL_COLOUR
    assert [row["level"] for row in table["levels"]] == ["blue", "yellow", "orange", "red"]
    for row in table["levels"]:
        style = LEVEL_STYLES[Level(row["level"])]
        assert row == {
            "level": style.level.value,
            "rank": style.rank,
            "cap_severity": style.cap_severity,
            "label": style.label,
            "colour": style.colour,
            "text_colour": style.text_colour,
        }
    assert [row["rank"] for row in table["levels"]] == [1, 2, 3, 4]
    assert Level.RED.cap_severity == "Extreme"

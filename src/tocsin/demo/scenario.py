"""Build the demo scenario: a region hierarchy over real country shapes, and real NAB series.

The world's countries are the nations; Italy is divided into a generated grid of districts
(0.75° cells whose centre lies in Italy) grouped into provinces (3° blocks), each named after
the city it holds or the nearest one (`tocsin.demo.names`). Indicators in Italian districts are
fed by real NAB series (machine temperatures, road traffic, cloud services; `tocsin.demo.feeds`)
moved in time so that every series ends at the moment the demo runs: what the demo raised was
raised minutes, hours or days ago, as on a real duty desk. Thresholds are set from each
series' first 15 % (its calibration period), as an analyst would from history. Every warning
is routed to the demo's duty desk, a file of JSON lines beside the database.

All the data comes from inside the package (`tocsin.demo.sources`), so the demo runs anywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.adapters.config_yaml import dump_yaml
from tocsin.demo import names, sources, storm
from tocsin.demo.feeds import FEEDS, Feed
from tocsin.demo.geometry import bounds, grid_cells, multipolygon
from tocsin.demo.plans import demo_plans
from tocsin.demo.public_alerts import cap_config

COUNTRY = "ITA"
METRO_CITY = "Roma"  # the district holding this city holds the demo's assets
DISTRICT_DEG = 0.75
PROVINCE_BLOCK = 4  # districts per province side
CALIBRATION = 0.15
WHAT_IF = "what-if.yaml"  # a what-if on the demo (INFORM over the nations, the demo's assets)
NOTIFICATIONS = "notifications.jsonl"  # the duty desk's inbox, beside the database
RISK_MODEL = "inform_2023.yaml"  # INFORM Risk 2023, for the what-if (and the composite's base)
CYBER_RISK_MODEL = "inform_2023_cyber.yaml"  # INFORM with the live cyber domain: the risk view
RISK_TABLE = "inform_indicators.csv"
CYBER_MODEL = "cyber_exposure.yaml"  # the cyber domain of the index (`tocsin exposure regions`)
# every warning to the duty desk, at once, then at most every minute per group
ROUTES: dict[str, Any] = {
    "route": {
        "receiver": "duty-desk",
        "group_by": ["region", "domain"],
        "group_wait_s": 0,
        "group_interval_s": 60,
    },
    "receivers": [{"name": "duty-desk", "files": [f"../{NOTIFICATIONS}"]}],
}


@dataclass(frozen=True)
class Series:
    """A feed's data, moved in time so that its last observation is at the demo's `end_at`."""

    feed: Feed
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def read_series(feed: Feed, *, end_at: int) -> Series:
    """Read a packaged NAB series and move it to end at `end_at` (epoch seconds)."""
    times, values = sources.nab_series(feed.file)
    return Series(feed, times + (end_at - int(times[-1])), values)


def thresholds(series: Series) -> dict[str, float]:
    """Level thresholds from the calibration period: beyond its 1-99 % range, by growing steps."""
    head = series.values[: max(10, int(len(series.values) * CALIBRATION))]
    lo, hi = np.quantile(head, [0.01, 0.99])
    spread = max(float(hi - lo), 1e-9)
    steps = {"blue": 0.10, "yellow": 0.30, "orange": 0.60, "red": 1.00}
    if series.feed.lower_is_worse:
        return {k: round(float(lo) - s * spread, 4) for k, s in steps.items()}
    return {k: round(float(hi) + s * spread, 4) for k, s in steps.items()}


def _cadence(series: Series) -> int:
    return int(np.median(np.diff(series.times)))


def build_regions(world: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """regions.yaml content (inline geometry) and the codes of Italy's districts."""
    regions: list[dict[str, Any]] = [{"code": "WORLD", "name": "World", "level": "world"}]
    country_geometry: dict[str, Any] | None = None
    for feature in world["features"]:
        if not str(feature["id"]).isalpha():  # "-99": areas without an ISO 3166 code
            continue
        regions.append(
            {
                "code": feature["id"],
                "name": feature["properties"]["name"],
                "level": "nation",
                "parent": "WORLD",
                "geometry": feature["geometry"],
            }
        )
        if feature["id"] == COUNTRY:
            country_geometry = feature["geometry"]
    if country_geometry is None:
        raise ValueError(f"the packaged boundaries have no {COUNTRY}")
    districts = _districts(country_geometry)
    provinces: dict[str, list[dict[str, Any]]] = {}
    for d in districts:
        provinces.setdefault(d["parent"], []).append(d["geometry"])
    titles = names.unique([names.area_name([bounds(g) for g in p]) for p in provinces.values()])
    regions += districts
    regions += [
        {
            "code": code,
            "name": title,
            "level": "province",
            "parent": COUNTRY,
            "geometry": multipolygon(polygons),
        }
        for (code, polygons), title in zip(provinces.items(), titles, strict=True)
    ]
    levels = ["world", "nation", "province", "district"]
    return {"levels": levels, "regions": regions}, [d["code"] for d in districts]


def _districts(country: dict[str, Any]) -> list[dict[str, Any]]:
    cells = grid_cells(country, DISTRICT_DEG)
    titles = names.unique([names.district_name(bounds(polygon)) for _, _, polygon in cells])
    return [
        {
            "code": f"{COUNTRY}-D{col:02d}{row:02d}",
            "name": title,
            "level": "district",
            "parent": f"{COUNTRY}-P{col // PROVINCE_BLOCK}{row // PROVINCE_BLOCK}",
            "geometry": polygon,
            "population": float(50_000 + (col * 7919 + row * 104729) % 450_000),
        }
        for (col, row, polygon), title in zip(cells, titles, strict=True)
    ]


def write_config(
    directory: Path, *, end_at: int, base_url: str = "http://127.0.0.1:8080", storm_cells: int = 0
) -> list[Series]:
    """Write the scenario's configuration directory, and beside it the what-if and the INFORM
    model and table; return the series that feed it, ending at `end_at` (epoch seconds).
    Public alerts link to `base_url`. With `storm_cells`, the storm's river gauges on that many
    cells over the districts (`tocsin.demo.storm`)."""
    directory.mkdir(parents=True, exist_ok=True)
    regions, districts = build_regions(sources.countries())
    series = [read_series(f, end_at=end_at) for f in FEEDS]
    by_name = {r["name"]: r["code"] for r in regions["regions"] if r["level"] == "district"}
    metro = by_name.get(METRO_CITY, districts[len(districts) // 2])
    placed = _place(series, districts, metro)
    indicators = [_indicator(s, placed[s.feed.code]) for s in series]
    routes: dict[str, Any] = ROUTES
    if storm_cells:
        shapes = [r for r in regions["regions"] if r["level"] == "district"]
        cells, gauges = storm.storm_grid(shapes, storm_cells)
        regions["levels"].append(storm.LEVEL)
        regions["regions"] += cells
        indicators += gauges
        routes = {**ROUTES, "route": {**ROUTES["route"], "routes": [storm.ROUTE]}}
    assets: list[dict[str, Any]] = [
        {
            "code": "SUB-1",
            "name": "Metro 380/132 kV substation",
            "kind": "substation",
            "region": metro,
            "domain": "infrastructure.power",
            # the web front end of its control system: exposed in the demo's feeds
            "software": ["cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"],
            "addresses": ["scada-gw.metro.example"],
        },
        {
            "code": "WATER-1",
            "name": "Metro water works",
            "kind": "water_works",
            "region": metro,
            "domain": "supply.water",
            "depends_on": ["SUB-1"],
        },
        {
            "code": "HOSP-1",
            "name": "General hospital",
            "kind": "hospital",
            "region": metro,
            "domain": "health",
            "depends_on": ["SUB-1", "WATER-1"],
        },
        {
            "code": "DC-1",
            "name": "Regional data centre",
            "kind": "data_centre",
            "region": metro,
            "domain": "infrastructure.it",
            "depends_on": ["SUB-1"],
        },
        {
            "code": "PLANT-1",
            "name": "Chemical plant",
            "kind": "chemical_plant",
            "region": metro,
            "domain": "production.chemicals",
            "depends_on": ["SUB-1", "WATER-1"],
        },
    ]
    units = _units(regions["regions"], metro)
    files = {
        "regions.yaml": regions,
        "indicators.yaml": {"indicators": indicators},
        "assets.yaml": {"assets": assets},
        "units.yaml": {"units": units},
        "routes.yaml": routes,
        "cap.yaml": cap_config(base_url),
        "plans.yaml": demo_plans(COUNTRY),
    }
    for name, content in files.items():
        (directory / name).write_text(dump_yaml(content), encoding="utf-8")
    _write_risk(directory.parent, assets)
    return series


def _indicator(s: Series, region: str) -> dict[str, Any]:
    cadence = _cadence(s)
    return {
        "code": s.feed.code,
        "name": s.feed.name,
        "region": region,
        "domain": s.feed.domain,
        "unit": s.feed.unit,
        "cadence_s": cadence,
        "direction": "lower_is_worse" if s.feed.lower_is_worse else "higher_is_worse",
        "thresholds": thresholds(s),
        "raise_after_s": 2 * cadence,
        "clear_after_s": 3 * cadence,
        "asset": s.feed.asset,
        "detector": {
            "kind": "auto",
            "thresholds": {"yellow": 0.5, "orange": 0.75, "red": 0.95},
            "clear_after_s": 12 * cadence,
        },
        "hysteresis": round(0.05 * float(np.ptp(s.values[: int(len(s.values) * CALIBRATION)])), 4),
    }


def _write_risk(workdir: Path, assets: list[dict[str, Any]]) -> None:
    """INFORM's model and indicator table, the cyber exposure model, and a what-if over them
    and the demo's assets."""
    (workdir / RISK_MODEL).write_text(sources.read_text(sources.INFORM_MODEL), encoding="utf-8")
    (workdir / RISK_TABLE).write_text(sources.read_text(sources.INFORM_TABLE), encoding="utf-8")
    (workdir / CYBER_MODEL).write_text(sources.read_text(CYBER_MODEL), encoding="utf-8")
    text = sources.read_text(CYBER_RISK_MODEL)
    (workdir / CYBER_RISK_MODEL).write_text(text, encoding="utf-8")
    what_if = {
        "name": "Flood hazard +2 in Italy, metro substation SUB-1 down",
        "perturb": [
            {"target": "HA.NAT.FL", "op": "add", "amount": 2, "regions": [COUNTRY], "clip": [0, 10]}
        ],
        "fail_assets": ["SUB-1"],
        "assets": [
            {"code": a["code"], "region": a["region"], "depends_on": a.get("depends_on", [])}
            for a in assets
        ],
    }
    (workdir / WHAT_IF).write_text(dump_yaml(what_if), encoding="utf-8")


def _place(series: Sequence[Series], districts: list[str], metro: str) -> dict[str, str]:
    out: dict[str, str] = {}
    others = [d for d in districts if d != metro]
    step = max(1, len(others) // max(1, len(series)))
    for i, s in enumerate(series):
        out[s.feed.code] = metro if s.feed.asset else others[(i * step) % len(others)]
    return out


def _units(regions: list[dict[str, Any]], metro: str) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = [
        # the demo's duty desk watches the whole map (its users are national: every region
        # and domain); it is nobody's first responder, so it receives no notifications
        {"code": "DESK", "name": "Demo duty desk", "region": "WORLD"},
        {
            "code": "DPC",
            "name": "National Civil Protection Department",
            "region": COUNTRY,
            "email": "sala.situazione@dpc.example",
        },
        {"code": "CSIRT", "name": "National CSIRT", "region": COUNTRY, "domains": ["cyber"]},
    ]
    for r in regions:
        if r["level"] == "province":
            units.append(
                {
                    "code": f"CP-{r['code']}",
                    "name": f"Civil protection, {r['name']}",
                    "region": r["code"],
                }
            )
    units += [
        {
            "code": "GRID-OPS",
            "name": "Grid operator control room",
            "region": metro,
            "domains": ["infrastructure.power", "supply.energy"],
        },
        {
            "code": "TRAFFIC",
            "name": "Metropolitan traffic centre",
            "region": metro,
            "domains": ["transport"],
        },
    ]
    return units


def replay_chunks(
    series: Sequence[Series], codes_to_ids: dict[str, int], *, chunk_seconds: int
) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    """All series merged in time order and cut into chunks of simulated time."""
    ids = np.concatenate([np.full(len(s.times), codes_to_ids[s.feed.code]) for s in series])
    times = np.concatenate([s.times for s in series])
    values = np.concatenate([s.values for s in series])
    order = np.argsort(times, kind="stable")
    ids, times, values = ids[order].astype(np.int64), times[order], values[order]
    edges = np.arange(times[0] - times[0] % chunk_seconds, times[-1] + chunk_seconds, chunk_seconds)
    cuts = np.searchsorted(times, edges)
    return [
        (int(edges[k]), ids[a:b], times[a:b], values[a:b])
        for k, (a, b) in enumerate(itertools.pairwise(cuts))
        if b > a
    ]

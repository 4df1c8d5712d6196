"""Build the demo scenario: a region hierarchy over real country shapes, and real NAB series.

The world's countries (`benchdata/geo/countries.geo.json`) are the nations; Italy is divided into
a generated grid of districts (0.75° cells whose centre lies in Italy) grouped into provinces
(3° blocks). Indicators in Italian districts are fed by real NAB series (machine temperatures,
road traffic, cloud services); series that record people's behaviour (tweet volumes, a person's
key strokes) are left out on purpose. Thresholds are set from each series' first 15 % (its
calibration period), as an analyst would from history.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.adapters.config_yaml import dump_yaml
from tocsin.demo.geometry import grid_cells, multipolygon

COUNTRY = "ITA"
DISTRICT_DEG = 0.75
PROVINCE_BLOCK = 4  # districts per province side
END_AT = datetime(2026, 11, 1, tzinfo=UTC)
WEEK = 7 * 24 * 3600
CALIBRATION = 0.15
WHAT_IF = "what-if.yaml"  # a what-if on the demo (INFORM over the nations, the demo's assets)


@dataclass(frozen=True, slots=True)
class Feed:
    """One NAB series feeding one demo indicator."""

    file: str
    code: str
    name: str
    domain: str
    unit: str
    lower_is_worse: bool = False
    asset: str | None = None


FEEDS: tuple[Feed, ...] = (
    Feed(
        "realKnownCause/machine_temperature_system_failure.csv",
        "plant.compressor_temp",
        "Chemical plant compressor temperature",
        "production.chemicals",
        "°F",
        asset="PLANT-1",
    ),
    Feed(
        "realKnownCause/ambient_temperature_system_failure.csv",
        "dc.ambient_temp",
        "Data centre ambient temperature",
        "infrastructure.it",
        "°F",
        asset="DC-1",
    ),
    Feed(
        "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
        "egov.cpu",
        "E-government cluster CPU",
        "infrastructure.it",
        "%",
    ),
    Feed(
        "realKnownCause/ec2_request_latency_system_failure.csv",
        "egov.latency",
        "E-government portal latency",
        "infrastructure.it",
        "ms",
    ),
    Feed(
        "realKnownCause/nyc_taxi.csv",
        "metro.taxi_trips",
        "Metropolitan taxi trips",
        "transport.road",
        "trips/30 min",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_6005.csv",
        "ring.speed_6005",
        "Ring road speed (sensor 6005)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_7578.csv",
        "ring.speed_7578",
        "Ring road speed (sensor 7578)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/speed_t4013.csv",
        "bypass.speed_t4013",
        "Bypass speed (sensor t4013)",
        "transport.road",
        "km/h",
        lower_is_worse=True,
    ),
    Feed(
        "realTraffic/occupancy_6005.csv",
        "ring.occupancy_6005",
        "Ring road occupancy (6005)",
        "transport.road",
        "%",
    ),
    Feed(
        "realTraffic/occupancy_t4013.csv",
        "bypass.occupancy_t4013",
        "Bypass occupancy (t4013)",
        "transport.road",
        "%",
    ),
    Feed(
        "realTraffic/TravelTime_387.csv",
        "corridor.travel_387",
        "Corridor travel time (387)",
        "transport.road",
        "s",
    ),
    Feed(
        "realTraffic/TravelTime_451.csv",
        "corridor.travel_451",
        "Corridor travel time (451)",
        "transport.road",
        "s",
    ),
    Feed(
        "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
        "hospital.db_cpu",
        "Hospital records database CPU",
        "health",
        "%",
        asset="HOSP-1",
    ),
    Feed(
        "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
        "water.scada_db_cpu",
        "Water works SCADA database CPU",
        "supply.water",
        "%",
        asset="WATER-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_network_in_257a54.csv",
        "grid.scada_net_in",
        "Grid SCADA network intake",
        "cyber",
        "bytes",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/elb_request_count_8c0756.csv",
        "portal.requests",
        "Citizen portal request count",
        "cyber",
        "requests",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
        "grid.ems_cpu_a",
        "Grid energy-management server A CPU",
        "infrastructure.power",
        "%",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
        "grid.ems_cpu_b",
        "Grid energy-management server B CPU",
        "infrastructure.power",
        "%",
        asset="SUB-1",
    ),
    Feed(
        "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv",
        "telecom.core_cpu",
        "Telecom core router CPU",
        "infrastructure.telecom",
        "%",
    ),
    Feed(
        "realAWSCloudwatch/grok_asg_anomaly.csv",
        "telecom.asg",
        "Telecom service group load",
        "infrastructure.telecom",
        "units",
    ),
)


@dataclass(frozen=True)
class Series:
    """A feed's data, shifted in whole weeks so that every series ends just before END_AT."""

    feed: Feed
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def read_series(nab_data: Path, feed: Feed) -> Series:
    """Read a NAB file and shift it by whole weeks to end at the demo's reference time."""
    with (nab_data / feed.file).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    times = np.array(
        [int(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC).timestamp()) for r in rows],
        dtype=np.int64,
    )
    values = np.array([float(r["value"]) for r in rows], dtype=np.float64)
    shift = ((int(END_AT.timestamp()) - int(times[-1])) // WEEK) * WEEK
    return Series(feed, times + shift, values)


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


def build_regions(geo_file: Path) -> tuple[dict[str, Any], list[str]]:
    """regions.yaml content (inline geometry) and the codes of Italy's districts."""
    world = json.loads(geo_file.read_text(encoding="utf-8"))
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
        raise ValueError(f"{geo_file} has no {COUNTRY}")
    provinces: dict[tuple[int, int], list[dict[str, Any]]] = {}
    districts: list[str] = []
    for col, row, polygon in grid_cells(country_geometry, DISTRICT_DEG):
        key = (col // PROVINCE_BLOCK, row // PROVINCE_BLOCK)
        code = f"{COUNTRY}-D{col:02d}{row:02d}"
        provinces.setdefault(key, []).append(polygon)
        districts.append(code)
        regions.append(
            {
                "code": code,
                "name": f"District {col:02d}-{row:02d}",
                "level": "district",
                "parent": f"{COUNTRY}-P{key[0]}{key[1]}",
                "geometry": polygon,
                "population": float(50_000 + (col * 7919 + row * 104729) % 450_000),
            }
        )
    for (pc, pr), polygons in provinces.items():
        regions.append(
            {
                "code": f"{COUNTRY}-P{pc}{pr}",
                "name": f"Province {pc}-{pr}",
                "level": "province",
                "parent": COUNTRY,
                "geometry": multipolygon(polygons),
            }
        )
    return {"levels": ["world", "nation", "province", "district"], "regions": regions}, districts


def write_config(directory: Path, *, benchdata: Path) -> list[Series]:
    """Write the scenario's configuration directory; return the series that feed it."""
    directory.mkdir(parents=True, exist_ok=True)
    regions, districts = build_regions(benchdata / "geo" / "countries.geo.json")
    series = [read_series(benchdata / "nab" / "data", f) for f in FEEDS]
    # a metropolitan district holds the assets; the other feeds spread over the country
    metro = districts[len(districts) // 2]
    placed = _place(series, districts, metro)
    indicators = [
        {
            "code": s.feed.code,
            "name": s.feed.name,
            "region": placed[s.feed.code],
            "domain": s.feed.domain,
            "unit": s.feed.unit,
            "cadence_s": _cadence(s),
            "direction": "lower_is_worse" if s.feed.lower_is_worse else "higher_is_worse",
            "thresholds": thresholds(s),
            "raise_after_s": 2 * _cadence(s),
            "clear_after_s": 3 * _cadence(s),
            "asset": s.feed.asset,
            "detector": {
                "kind": "auto",
                "thresholds": {"yellow": 0.5, "orange": 0.75, "red": 0.95},
                "clear_after_s": 12 * _cadence(s),
            },
            "hysteresis": round(
                0.05 * float(np.ptp(s.values[: int(len(s.values) * CALIBRATION)])), 4
            ),
        }
        for s in series
    ]
    assets: list[dict[str, Any]] = [
        {
            "code": "SUB-1",
            "name": "Metro 380/132 kV substation",
            "kind": "substation",
            "region": metro,
            "domain": "infrastructure.power",
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
    }
    for name, content in files.items():
        (directory / name).write_text(dump_yaml(content), encoding="utf-8")
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
    (directory.parent / WHAT_IF).write_text(dump_yaml(what_if), encoding="utf-8")
    return series


def _place(series: Sequence[Series], districts: list[str], metro: str) -> dict[str, str]:
    out: dict[str, str] = {}
    others = [d for d in districts if d != metro]
    step = max(1, len(others) // max(1, len(series)))
    for i, s in enumerate(series):
        out[s.feed.code] = metro if s.feed.asset else others[(i * step) % len(others)]
    return out


def _units(regions: list[dict[str, Any]], metro: str) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = [
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

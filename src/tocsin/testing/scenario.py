"""A small, complete configuration for tests: a nation, two provinces, three districts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin.adapters.config_yaml import dump_yaml
from tocsin.demo.geometry import cell, multipolygon

# Nation N (two provinces P1, P2); P1 has districts D11, D12; P2 has D21.
DISTRICT_CELLS = {"D11": (10.0, 45.0), "D12": (11.0, 45.0), "D21": (12.0, 45.0)}


def small_config() -> dict[str, Any]:
    """The YAML documents of the small scenario, by file name."""
    cells = {code: cell(x, y, 1.0) for code, (x, y) in DISTRICT_CELLS.items()}
    regions = [
        {
            "code": "N",
            "name": "Nation",
            "level": "nation",
            "geometry": multipolygon(list(cells.values())),
        },
        {
            "code": "P1",
            "name": "Province One",
            "level": "province",
            "parent": "N",
            "geometry": multipolygon([cells["D11"], cells["D12"]]),
        },
        {
            "code": "P2",
            "name": "Province Two",
            "level": "province",
            "parent": "N",
            "geometry": multipolygon([cells["D21"]]),
        },
        *(
            {
                "code": code,
                "name": f"District {code}",
                "level": "district",
                "parent": f"P{code[1]}",
                "geometry": geometry,
                "population": 100_000.0,
            }
            for code, geometry in cells.items()
        ),
    ]
    indicators = [
        {
            "code": "D11.river_level",
            "name": "River level at D11 gauge",
            "region": "D11",
            "domain": "natural.flood",
            "unit": "m",
            "cadence_s": 600,
            "thresholds": {"blue": 2.0, "yellow": 3.0, "orange": 4.0, "red": 5.0},
        },
        {
            "code": "D12.river_level",
            "name": "River level at D12 gauge",
            "region": "D12",
            "domain": "natural.flood",
            "unit": "m",
            "cadence_s": 600,
            "raise_after_s": 1200,
            "clear_after_s": 1200,
            "hysteresis": 0.2,
            "thresholds": {"blue": 2.0, "yellow": 3.0, "orange": 4.0, "red": 5.0},
        },
        {
            "code": "D21.reservoir",
            "name": "Reservoir fill at D21",
            "region": "D21",
            "domain": "supply.water",
            "unit": "%",
            "direction": "lower_is_worse",
            "thresholds": {"blue": 40.0, "yellow": 30.0, "orange": 20.0, "red": 10.0},
        },
        {
            "code": "P1.substation_load",
            "name": "Substation load",
            "region": "D11",
            "domain": "infrastructure.power",
            "unit": "%",
            "asset": "SUB",
            "thresholds": {"yellow": 90.0, "red": 105.0},
        },
        {
            "code": "P1.rainfall",
            "name": "Province rainfall",
            "region": "P1",
            "domain": "natural.flood",
            "unit": "mm/h",
            "thresholds": {"blue": 10.0, "yellow": 20.0, "orange": 40.0, "red": 60.0},
        },
    ]
    assets = [
        {
            "code": "SUB",
            "name": "Substation",
            "kind": "substation",
            "region": "D11",
            "domain": "infrastructure.power",
        },
        {
            "code": "WTR",
            "name": "Water works",
            "kind": "water_works",
            "region": "D11",
            "domain": "supply.water",
            "depends_on": ["SUB"],
        },
        {
            "code": "HSP",
            "name": "Hospital",
            "kind": "hospital",
            "region": "D12",
            "domain": "health",
            "depends_on": ["SUB", "WTR"],
        },
    ]
    units = [
        {
            "code": "NAT",
            "name": "National civil protection",
            "region": "N",
            "email": "nat@example.test",
        },
        {
            "code": "P1-CP",
            "name": "P1 civil protection",
            "region": "P1",
            "email": "p1@example.test",
        },
        {"code": "P2-CP", "name": "P2 civil protection", "region": "P2"},
        {
            "code": "D11-FLOOD",
            "name": "D11 flood service",
            "region": "D11",
            "domains": ["natural.flood"],
            "email": "d11@example.test",
        },
        {
            "code": "GRID",
            "name": "Grid operator",
            "region": "N",
            "domains": ["infrastructure.power"],
        },
    ]
    return {
        "regions.yaml": {"levels": ["nation", "province", "district"], "regions": regions},
        "indicators.yaml": {"indicators": indicators},
        "assets.yaml": {"assets": assets},
        "units.yaml": {"units": units},
    }


def small_cap_config() -> dict[str, Any]:
    """A cap.yaml (as data) in two languages, English and French, for the small scenario."""
    texts = {
        "en": {
            "event": "{domain_name}",
            "headline": "{level_label} warning: {domain_name} in {region}",
            "description": "A {level} warning for {domain_name} is in force in {region} from "
            "{onset} until {expires} (UTC). {reason}",
            "instruction": "Follow the advice of the local authorities.",
            "response_types": ["Monitor"],
        },
        "fr": {
            "event": "{domain_name}",
            "headline": "Vigilance {level} : {domain_name}, {region}",
            "description": "Une vigilance {level} pour {domain_name} est en vigueur sur "
            "{region} du {onset} au {expires} (UTC). {reason}",
            "instruction": "Suivez les consignes des autorités locales.",
            "response_types": ["Monitor"],
            "levels": {"red": "rouge", "orange": "orange", "yellow": "jaune", "blue": "bleue"},
        },
    }
    return {
        "sender": "cap@tocsin.example",
        "sender_name": "Tocsin Civil Protection",
        "identifier_prefix": "tocsin.example",
        "base_url": "http://tocsin.example",
        "languages": ["en-GB", "fr-FR"],
        "templates": {"default": texts},
    }


def write_small_config(directory: Path, **overrides: Any) -> Path:
    """Write the small scenario (documents replaced by `overrides`, by file name) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = {**small_config(), **overrides}
    for name, content in docs.items():
        (directory / name).write_text(dump_yaml(content), encoding="utf-8")
    return directory


def small_plans() -> dict[str, Any]:
    """plans.yaml for the small scenario: a flood plan for province P1 (orange: inspect the
    levees, the district's flood unit; prepare shelters, the province's unit; red: evacuate,
    then secure the substation, the grid operator; stand-down: restore, then debrief), with
    overdue tasks reminded at their deadline and escalated 15 minutes later."""
    flood_unit = {"level": "district", "domain": "natural.flood"}
    return {
        "overdue": {
            "steps": [{"after_s": 0, "to": "responsible"}, {"after_s": 900, "to": "parent"}]
        },
        "plans": [
            {
                "id": "flood",
                "name": "Flood response",
                "domain": "natural.flood",
                "region": "P1",
                "lead": {"level": "province"},
                "levels": [
                    {
                        "level": "orange",
                        "response": "III",
                        "tasks": [
                            _task(
                                "levees",
                                "Inspect the levees",
                                unit=flood_unit,
                                accept_s=600,
                                complete_s=7200,
                                checklist=["north bank", "south bank"],
                            ),
                            _task(
                                "shelters",
                                "Prepare shelters",
                                unit={"level": "province"},
                                accept_s=900,
                                complete_s=10800,
                            ),
                        ],
                    },
                    {
                        "level": "red",
                        "response": "I",
                        "tasks": [
                            _task(
                                "evacuate",
                                "Evacuate the riverside",
                                unit=flood_unit,
                                accept_s=300,
                                complete_s=3600,
                            ),
                            _task(
                                "power",
                                "Secure the substation",
                                unit={"unit": "GRID"},
                                accept_s=600,
                                complete_s=3600,
                                after=["evacuate"],
                            ),
                        ],
                    },
                ],
                "stand_down": [
                    _task(
                        "restore",
                        "Restore the riverside",
                        unit=flood_unit,
                        accept_s=3600,
                        complete_s=86400,
                    ),
                    _task(
                        "debrief",
                        "Debrief and report",
                        unit={"level": "province"},
                        accept_s=3600,
                        complete_s=86400,
                        after=["restore"],
                    ),
                ],
            }
        ],
    }


def _task(
    ident: str,
    title: str,
    *,
    unit: dict[str, str],
    accept_s: int,
    complete_s: int,
    checklist: list[str] | None = None,
    after: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": ident,
        "title": title,
        "unit": dict(unit),  # a copy each: YAML writers would share one with an alias
        "acknowledge_within_s": accept_s,
        "complete_within_s": complete_s,
        "checklist": checklist or [],
        "after": after or [],
    }


def exposure_config() -> dict[str, Any]:
    """The small scenario with software, addresses and an alert-count indicator on its assets:
    the substation runs a SCADA HMI and a web server, the water works a PLC firmware on a
    PLC 100 and a Python package; the substation's security alerts are counted."""
    docs = small_config()
    software = {
        "SUB": [
            "cpe:2.3:a:example_vendor:scada_hmi:3.9:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
        ],
        "WTR": [
            "cpe:2.3:o:example_vendor:plc_firmware:2.1.1j:*:*:*:*:*:*:*",
            "cpe:2.3:h:example_vendor:plc_100:-:*:*:*:*:*:*:*",
            "pkg:pypi/jinja2@2.11.2",
        ],
    }
    addresses = {"SUB": ["hmi-01", "10.1.1.5"], "WTR": ["plc-gw.water.example", "10.2.0.1"]}
    for asset in docs["assets.yaml"]["assets"]:
        asset["software"] = software.get(asset["code"], [])
        asset["addresses"] = addresses.get(asset["code"], [])
    docs["assets.yaml"]["assets"][0]["alerts_indicator"] = "SUB.security_alerts"
    docs["indicators.yaml"]["indicators"].append(
        {
            "code": "SUB.security_alerts",
            "name": "Security alerts on the substation, per minute",
            "region": "D11",
            "domain": "cyber",
            "unit": "alerts",
            "asset": "SUB",
            "thresholds": {"yellow": 2.0, "orange": 5.0},
        }
    )
    return docs


# robust_z scores |z| / (|z| + 5): 0.4 is |z| = 3.3; a 2 m spike over 5 cm of noise scores ~0.9
GAUGE_DETECTOR: dict[str, Any] = {
    "kind": "robust_z",
    "params": {"warmup": 20, "z_threshold": 5.0},
    "thresholds": {"yellow": 0.4},
}


def gauges_with_detector(
    gauges: int = 1, *, detector: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The small scenario's documents with its first `gauges` river gauges watched by two
    rules: thresholds (yellow 3, orange 3.5, red 6 m) and a detector (GAUGE_DETECTOR)."""
    docs = small_config()
    for gauge in docs["indicators.yaml"]["indicators"][:gauges]:
        gauge["thresholds"] = {"yellow": 3.0, "orange": 3.5, "red": 6.0}
        gauge["detector"] = detector or GAUGE_DETECTOR
    return docs

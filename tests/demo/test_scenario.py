"""The demo scenario as written to its configuration: names for people, series ending now,
every warning routed to a receiver, data only from the package."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.config_yaml import load_catalog
from tocsin.demo import names
from tocsin.demo.feeds import FEEDS
from tocsin.demo.scenario import (
    CYBER_RISK_MODEL,
    NOTIFICATIONS,
    RISK_MODEL,
    RISK_TABLE,
    WHAT_IF,
    write_config,
)

END = 1_790_000_000
NEAR = re.compile(r"^\d+ km (N|NE|E|SE|S|SW|W|NW) of [A-Z][\w' ]+( \(\d+\))?$")
CITIES = {c[0] for c in names.CITIES}


def test_the_demo_writes_a_valid_configuration_with_names_for_people(tmp_path: Path) -> None:
    series = write_config(tmp_path / "config", end_at=END)
    catalog = load_catalog(tmp_path / "config")
    config = load_alerting(tmp_path / "config", catalog)
    regions = catalog.regions.regions.values()
    districts = [r.name for r in regions if r.level == "district"]
    provinces = [r.name for r in regions if r.level == "province"]
    assert len(districts) > 50
    assert len(provinces) > 10
    assert all(n in CITIES or NEAR.match(n) for n in districts), districts
    assert all(n.endswith(" area") for n in provinces), provinces
    assert len(set(districts)) == len(districts)
    assert len(set(provinces)) == len(provinces)
    assert {"Roma", "Milano", "Napoli", "Torino"} <= set(districts)
    # every series ends at the moment given, and keeps its own spacing and values
    assert len(series) == len(FEEDS)
    assert all(int(s.times[-1]) == END for s in series)
    # every warning reaches the duty desk: a JSON-lines file beside the database
    assert config.root.receiver == "duty-desk"
    (address,) = config.receivers["duty-desk"]
    assert address.address == str((tmp_path / NOTIFICATIONS).resolve())
    for name in (RISK_MODEL, CYBER_RISK_MODEL, RISK_TABLE, WHAT_IF):
        assert (tmp_path / name).is_file()
    assert yaml.safe_load((tmp_path / WHAT_IF).read_text())["fail_assets"] == ["SUB-1"]


def test_a_place_is_named_from_the_nearest_city() -> None:
    rome = next(c for c in names.CITIES if c[0] == "Roma")
    assert (
        names.district_name((rome[1] - 0.1, rome[2] - 0.1, rome[1] + 0.1, rome[2] + 0.1)) == "Roma"
    )
    # 0.3° east of Rome: 24.8 km from it, 48 km from Latina, the next nearest
    assert names.near(rome[1] + 0.3, rome[2]) == "20 km E of Roma"
    assert names.unique(["A", "B", "A", "A"]) == ["A", "B", "A (2)", "A (3)"]

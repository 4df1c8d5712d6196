"""Configuration loading: every problem reported at once, with file, path and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.errors import InvalidConfig
from tocsin.testing.scenario import small_config, write_small_config


def test_the_small_scenario_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write_small_config(tmp_path))
    assert [i.code for i in catalog.indicators][:2] == ["D11.river_level", "D12.river_level"]
    assert list(catalog.regions.subtree("P1")) == ["P1", "D11", "D12"]  # type: ignore[arg-type]
    assert catalog.domains["natural.flood"].cap_category == "Met"  # type: ignore[index]


def test_all_problems_are_listed_with_file_and_path(tmp_path: Path) -> None:
    docs = small_config()
    indicators = docs["indicators.yaml"]["indicators"]
    indicators[0]["region"] = "NOWHERE"
    indicators[1]["thresholds"] = {"blue": 5.0, "yellow": 3.0}
    indicators[2]["unit"] = 3.5
    indicators.append(dict(indicators[3]))
    docs["assets.yaml"]["assets"][0]["depends_on"] = ["HSP"]
    write_small_config(tmp_path, **docs)
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    text = [str(p) for p in caught.value.problems]
    ind_file = str(tmp_path / "indicators.yaml")
    assert f"{ind_file}: indicators[D11.river_level].region: unknown region 'NOWHERE'" in text
    assert any(
        t.startswith(f"{ind_file}: indicators[D12.river_level].thresholds: yellow threshold 3.0")
        for t in text
    )
    assert any(t.startswith(f"{ind_file}: indicators[D21.reservoir].unit:") for t in text)
    assert any("duplicate indicator code 'P1.substation_load'" in t for t in text)
    assert any("dependency cycle" in t and "assets.yaml" in t for t in text)
    assert len(text) >= 5


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    write_small_config(tmp_path)
    (tmp_path / "units.yaml").write_text("units:\n  - code: A\n    name: [unclosed\n")
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    assert any(str(tmp_path / "units.yaml") + ":" in p.where for p in caught.value.problems)


def test_missing_regions_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="regions are required"):
        load_catalog(tmp_path)


def test_unknown_cap_category_is_rejected(tmp_path: Path) -> None:
    domains = {"domains": [{"code": "x", "name": "X", "cap_category": "Weather"}]}
    write_small_config(tmp_path, **{"domains.yaml": domains})
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    assert any("not a CAP 1.2 category: 'Weather'" in str(p) for p in caught.value.problems)


def test_detector_rules_are_validated(tmp_path: Path) -> None:
    docs = small_config()
    indicators = docs["indicators.yaml"]["indicators"]
    indicators[0]["detector"] = {"kind": "crystal_ball"}
    indicators[1]["detector"] = {"kind": "robust_z", "params": {"alpha": 7}}
    indicators[2]["detector"] = {"kind": "auto", "thresholds": {"yellow": 0.9, "red": 0.5}}
    write_small_config(tmp_path, **docs)
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "indicators[D11.river_level].detector.kind: unknown detector 'crystal_ball'" in text
    assert "indicators[D12.river_level].detector.params: alpha" in text
    assert "indicators[D21.reservoir].detector.thresholds: red threshold 0.5" in text


def test_files_written_as_json_load_like_their_yaml(tmp_path: Path) -> None:
    as_yaml = load_catalog(write_small_config(tmp_path / "yaml"))
    json_dir = write_small_config(tmp_path / "json")
    for name, content in small_config().items():
        (json_dir / name).write_text(json.dumps(content, indent=1), encoding="utf-8")
    assert (json_dir / "indicators.yaml").read_text(encoding="utf-8").startswith("{")
    assert load_catalog(json_dir) == as_yaml


def test_broken_json_is_reported_as_yaml_with_its_line(tmp_path: Path) -> None:
    write_small_config(tmp_path)
    (tmp_path / "units.yaml").write_text('{"units": [\n  {"code": "U1",,}\n]}\n', encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    assert any(str(p).startswith(f"{tmp_path / 'units.yaml'}:2:") for p in caught.value.problems)


def test_json_nan_is_not_a_number_here(tmp_path: Path) -> None:
    docs = small_config()
    docs["indicators.yaml"]["indicators"][0]["thresholds"] = {"blue": "NAN_HERE"}
    write_small_config(tmp_path, **docs)
    path = tmp_path / "indicators.yaml"
    path.write_text(
        json.dumps(docs["indicators.yaml"]).replace('"NAN_HERE"', "NaN"), encoding="utf-8"
    )
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(tmp_path)
    assert any("thresholds" in str(p) for p in caught.value.problems)

"""Configurations that must never reach the server: check-config rejects each with file, path
and reason, and loading stays bounded (aliases, repeated keys, depth, size, bytes, cycles)."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.adapters import config_errors
from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.config_yaml import dump_yaml, load_catalog
from tocsin.cli.main import app
from tocsin.core.errors import InvalidConfig
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.testing.scenario import small_config, write_small_config

# the "billion laughs" in a region's geometry: 1.3 KB of YAML that names 10^9 points
ALIAS_BOMB = """levels: [nation]
regions:
  - code: N
    name: Nation
    level: nation
    geometry:
      type: Polygon
      a: &a [[0, 0], [0, 1], [1, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
      coordinates: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        load_catalog(directory)
    return [str(p) for p in caught.value.problems]


def check_config(directory: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check-config", str(directory)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_a_region_cycle_is_rejected_by_check_config(tmp_path: Path) -> None:
    docs = small_config()
    regions = docs["regions.yaml"]["regions"]
    regions[0]["parent"] = "D11"  # N -> D11 -> P1 -> N
    write_small_config(tmp_path, **docs)
    code, out = check_config(tmp_path)
    assert code == 1
    assert f"{tmp_path / 'regions.yaml'}: regions[N].parent: parent cycle N -> D11 -> P1 -> N" in (
        out.replace("\n", "")
    )


def test_a_tree_with_a_cycle_still_answers_subtree_queries() -> None:
    """Defence in depth: a cycle stored before it was checked cannot make a query loop."""
    a, b = RegionCode("A"), RegionCode("B")
    tree = RegionTree.build(("x",), [Region(a, "A", "x", b), Region(b, "B", "x", a)])
    assert sorted(tree.subtree(a)) == ["A", "B"]
    assert tree.cycles() == [["A", "B", "A"]]


def test_a_domain_cycle_is_rejected(tmp_path: Path) -> None:
    domains = {
        "domains": [
            {"code": "a", "name": "A", "cap_category": "Met", "parent": "b"},
            {"code": "b", "name": "B", "cap_category": "Met", "parent": "a"},
            {"code": "natural.flood", "name": "Flood", "cap_category": "Met"},
            {"code": "supply.water", "name": "Water", "cap_category": "Infra"},
            {"code": "infrastructure.power", "name": "Power", "cap_category": "Infra"},
        ]
    }
    write_small_config(tmp_path, **{"domains.yaml": domains})
    assert any("domains[a].parent: parent cycle a -> b -> a" in p for p in problems_of(tmp_path))


def test_an_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    write_small_config(tmp_path)
    (tmp_path / "regions.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    assert len(ALIAS_BOMB) < 1400
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out = check_config(tmp_path)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert code == 1
    assert f"{tmp_path / 'regions.yaml'}:9: not valid YAML: aliases are not allowed (*a)" in out
    assert grown_kb < 200_000  # expanded, the document would need gigabytes


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "units.yaml",
            "units:\n  - code: A\n    name: A\n    region: N\n    name: B\n",
            "units.yaml:5: not valid YAML: key 'name' appears twice in one mapping",
        ),
        (
            "units.yaml",
            '{"units": [{"code": "A", "name": "A", "region": "N", "region": "P1"}]}',
            "units.yaml:1: not valid YAML: key 'region' appears twice in one mapping",
        ),
        (
            "indicators.yaml",
            "indicators: " + "[" * 200 + "]" * 200 + "\n",
            "indicators.yaml:1: not valid YAML: nested deeper than 64 levels",
        ),
        (
            "indicators.yaml",
            "{" + '"a": [' * 5000 + "]" * 5000 + "}",
            "indicators.yaml:1: not valid YAML: nested deeper than 64 levels",
        ),
    ],
)
def test_repeated_keys_and_deep_nesting_are_problems(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    write_small_config(tmp_path)
    (tmp_path / name).write_text(text, encoding="utf-8")
    code, out = check_config(tmp_path)
    assert code == 1
    assert f"{tmp_path}/{expected}" in out.replace("\n", "")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    write_small_config(tmp_path)
    (tmp_path / "units.yaml").write_bytes(b"units:\n  - code: A\n    name: caf\xe9\n")
    code, out = check_config(tmp_path)
    assert code == 1
    assert f"{tmp_path / 'units.yaml'}:3: not UTF-8 text (byte 0xe9)" in out
    routes = tmp_path / "routes.yaml"
    routes.write_bytes(b"route:\n  receiver: \xff\n")
    (tmp_path / "units.yaml").unlink()
    with pytest.raises(InvalidConfig, match=r"routes.yaml:2: not UTF-8 text \(byte 0xff\)"):
        load_alerting(tmp_path, load_catalog(tmp_path))


def test_a_file_over_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_small_config(tmp_path)
    size = (tmp_path / "regions.yaml").stat().st_size
    monkeypatch.setattr(config_errors, "MAX_FILE_BYTES", size - 1)
    assert f"regions.yaml: too large: {size:,} bytes (limit {size - 1:,})" in " ".join(
        problems_of(tmp_path)
    )


def test_geometry_must_be_a_polygon_or_multipolygon(tmp_path: Path) -> None:
    docs = small_config()
    regions = docs["regions.yaml"]["regions"]
    regions[0]["geometry"] = {"type": "Point", "coordinates": [1, 2]}
    regions[1]["geometry"] = {"type": "Polygon", "coordinates": [[[0, 0], [1, "x"]]]}
    write_small_config(tmp_path, **docs)
    text = " | ".join(problems_of(tmp_path))
    assert "regions[N].geometry:" in text
    assert "regions[P1].geometry.Polygon.coordinates[0]" in text


def test_a_geojson_file_that_is_not_a_feature_collection(tmp_path: Path) -> None:
    docs = small_config()
    docs["regions.yaml"]["geojson"] = ["extra.geojson", "bytes.geojson"]
    write_small_config(tmp_path, **docs)
    (tmp_path / "extra.geojson").write_text(json.dumps([1, 2]), encoding="utf-8")
    (tmp_path / "bytes.geojson").write_bytes(b'{"features": ["\xff"]}')
    text = " | ".join(problems_of(tmp_path))
    assert f"{tmp_path / 'extra.geojson'}: features: not a GeoJSON FeatureCollection" in text
    assert f"{tmp_path / 'bytes.geojson'}:1: not UTF-8 text (byte 0xff)" in text


def test_every_problem_at_once(tmp_path: Path) -> None:
    """A bad direction no longer hides the unknown region of the same indicator; duplicate
    unit, asset and domain codes are reported; an unknown key names the key meant."""
    docs = small_config()
    indicator = docs["indicators.yaml"]["indicators"][0]
    indicator["direction"] = "sideways"
    indicator["region"] = "NOWHERE"
    indicator["cadence"] = 600
    units = docs["units.yaml"]["units"]
    units.append(dict(units[0]))
    assets = docs["assets.yaml"]["assets"]
    assets.append(dict(assets[0]))
    write_small_config(tmp_path, **docs)
    found = problems_of(tmp_path)
    at = f"{tmp_path / 'indicators.yaml'}: indicators[D11.river_level]"
    assert f"{at}.region: unknown region 'NOWHERE'" in found
    assert any(p.startswith(f"{at}.direction: Input should be") for p in found)
    assert f"{at}.cadence: unknown key 'cadence' (did you mean 'cadence_s'?)" in found
    unit, asset = units[0]["code"], assets[0]["code"]
    assert f"{tmp_path / 'units.yaml'}: units[{unit}].code: duplicate unit code {unit!r}" in found
    assert (
        f"{tmp_path / 'assets.yaml'}: assets[{asset}].code: duplicate asset code {asset!r}" in found
    )


def test_shared_objects_are_written_without_aliases() -> None:
    shared = [1, 2]
    assert "*" not in dump_yaml({"a": shared, "b": shared})


def test_detector_parameters_are_flat_values(tmp_path: Path) -> None:
    docs = small_config()
    nested: object = 1.0
    for _ in range(50):
        nested = [nested]
    docs["indicators.yaml"]["indicators"][0]["detector"] = {"params": {"alpha": nested}}
    write_small_config(tmp_path, **docs)
    assert any(
        "indicators[D11.river_level].detector.params.alpha" in p for p in problems_of(tmp_path)
    )

"""Report types from YAML: the packaged defaults, a configured file, and every problem listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tocsin.adapters.config_yaml import dump_yaml, load_catalog
from tocsin.adapters.report_types_yaml import load_report_types
from tocsin.cli.main import app
from tocsin.core.errors import InvalidConfig
from tocsin.core.levels import Level
from tocsin.core.report_types import Datatype
from tocsin.testing.scenario import write_small_config


def refusals(folder: Path, doc: dict[str, Any]) -> list[str]:
    """The problems listed for this reports.yaml, sorted as `field: reason`."""
    (folder / "reports.yaml").write_text(dump_yaml(doc))
    with pytest.raises(InvalidConfig) as caught:
        load_report_types(folder, load_catalog(folder))
    return sorted(f"{p.field}: {p.reason}" for p in caught.value.problems)


def test_the_defaults_load_with_their_questions_and_rules(tmp_path: Path) -> None:
    catalog = load_catalog(write_small_config(tmp_path))
    types = load_report_types(None, catalog)
    gas = types["gas_smell"]
    assert gas.domain == "supply.energy"
    assert gas.cluster_group == "gas"
    assert gas.attributes[0].datatype is Datatype.SINGLEVALUELIST
    assert gas.attributes[0].required
    assert [a.order for a in gas.attributes] == [1, 2]
    assert gas.level_for(5) is Level.ORANGE
    assert types["blocked_drain"].cluster_group == types["dyke_damage"].cluster_group == "flood"


def test_a_configured_file_replaces_the_defaults(tmp_path: Path) -> None:
    folder = write_small_config(tmp_path)
    doc = {"report_types": [{"code": "sinkhole", "name": "Sinkhole", "domain": "natural"}]}
    (folder / "reports.yaml").write_text(dump_yaml(doc))
    types = load_report_types(folder, load_catalog(folder))
    assert list(types) == ["sinkhole"]


def test_every_problem_of_a_configured_file_is_listed(tmp_path: Path) -> None:
    folder = write_small_config(tmp_path)
    doc = {
        "report_types": [
            {"code": "a", "name": "A", "domain": "nowhere"},
            {"code": "a", "name": "A again", "domain": "fire"},
            {
                "code": "b",
                "name": "B",
                "domain": "fire",
                "attributes": [{"code": "x", "datatype": "singlevaluelist", "description": "?"}],
            },
        ]
    }
    assert refusals(folder, doc) == [
        "report_types[a].code: duplicate code 'a'",
        "report_types[a].domain: unknown domain 'nowhere'",
        "report_types[b].attributes[x]: a list attribute needs values",
    ]
    (folder / "reports.yaml").write_text("report_types: [{code: c, name: C, domainn: fire}]")
    with pytest.raises(InvalidConfig, match="domainn"):
        load_report_types(folder, load_catalog(folder))


def test_cluster_rules_are_checked_for_their_action(tmp_path: Path) -> None:
    folder = write_small_config(tmp_path)
    doc = {
        "report_types": [
            {
                "code": "a",
                "name": "A",
                "domain": "fire",
                "cluster_rules": [
                    {"min_reports": 2},
                    {"min_reports": 3, "level": "orange", "action": "attach_incident"},
                    {"min_reports": 4, "action": "attach_incident"},
                ],
            },
            {
                "code": "b",
                "name": "B",
                "domain": "fire",
                "cluster_rules": [{"min_reports": 2, "level": "yellow"}, {"min_reports": 4}],
            },
        ]
    }
    assert refusals(folder, doc) == [
        "report_types[a].cluster_rules: at most one attach_incident rule",
        "report_types[a].cluster_rules[0]: raising a warning needs a level",
        "report_types[a].cluster_rules[1]: attaching to an incident takes no level",
        "report_types[b].cluster_rules[1]: raising a warning needs a level",
    ]
    runner = CliRunner()
    checked = runner.invoke(app, ["check-config", str(folder)])
    assert checked.exit_code == 1
    assert "at most one attach_incident rule" in checked.output
    doc["report_types"] = [
        {
            "code": "a",
            "name": "A",
            "domain": "fire",
            "cluster_rules": [{"min_reports": 4, "action": "attach_incident"}],
        }
    ]
    (folder / "reports.yaml").write_text(dump_yaml(doc))
    rtype = load_report_types(folder, load_catalog(folder))["a"]
    assert (rtype.attaches(3), rtype.attaches(4), rtype.level_for(9)) == (False, True, None)
    assert runner.invoke(app, ["check-config", str(folder)]).exit_code == 0

"""plans.yaml: read into core plans; every problem reported with file, path and reason, by the
loader and by `tocsin check-config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tocsin.adapters.config_yaml import dump_yaml, load_catalog
from tocsin.adapters.plans_yaml import load_plans
from tocsin.cli.main import app
from tocsin.core.errors import InvalidConfig
from tocsin.core.incidents.model import ResponseLevel
from tocsin.core.incidents.plans import UnitRef
from tocsin.core.levels import Level
from tocsin.testing.scenario import small_config, small_plans, write_small_config


def config(tmp_path: Path, plans: Any) -> Path:
    folder = write_small_config(tmp_path / "cfg")
    (folder / "plans.yaml").write_text(
        plans if isinstance(plans, str) else dump_yaml(plans), encoding="utf-8"
    )
    return folder


def problems(folder: Path) -> list[tuple[str, str]]:
    with pytest.raises(InvalidConfig) as caught:
        load_plans(folder, load_catalog(folder))
    return [(p.field, p.reason) for p in caught.value.problems]


def test_the_small_plans_load(tmp_path: Path) -> None:
    folder = config(tmp_path, small_plans())
    book = load_plans(folder, load_catalog(folder))
    (flood,) = book.plans
    assert (flood.id, flood.domain, flood.region) == ("flood", "natural.flood", "P1")
    assert [(p.level, p.response) for p in flood.levels] == [
        (Level.ORANGE, ResponseLevel.III),
        (Level.RED, ResponseLevel.I),
    ]
    levees = flood.levels[0].tasks[0]
    assert levees.unit == UnitRef("district", "natural.flood")
    assert levees.checklist == ("north bank", "south bank")
    assert flood.levels[1].tasks[1].after == ("evacuate",)
    assert [s.after.total_seconds() for s in flood.overdue.steps] == [0, 900]
    assert book.get("flood") is flood
    assert book.get("nope") is None


def test_no_file_means_no_plans(tmp_path: Path) -> None:
    folder = write_small_config(tmp_path / "cfg")
    assert load_plans(folder, load_catalog(folder)).plans == ()


def bad_plans() -> dict[str, Any]:
    doc = small_plans()
    plan = doc["plans"][0]
    plan["domain"] = "natural.floods"
    plan["region"] = "P9"
    orange, red = plan["levels"]
    orange["response"] = "I"  # milder at red (I then ... ) below
    red["response"] = "III"
    orange["tasks"][0]["unit"] = {"level": "county"}
    orange["tasks"][1]["after"] = ["nothing"]
    orange["tasks"][1]["acknowledge_within_s"] = 99_999
    red["tasks"][0]["after"] = ["power"]  # evacuate <-> power: a cycle
    red["tasks"][1]["unit"] = {"unit": "NOPE"}
    plan["stand_down"][0]["unit"] = {"unit": "NAT", "level": "district"}
    doc["plans"].append({**plan, "levels": [orange]})  # the same id again
    doc["overdue"]["steps"][1]["to"] = "SOMEONE"
    return doc


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(config(tmp_path, bad_plans()))
    reasons = "\n".join(f"{f}: {r}" for f, r in found)
    both = "Value error, name a unit outright (unit) or relative to the region, not both"
    assert [f"{f}: {r}" for f, r in found] == [
        f"plans[0] (flood).stand_down[0] (restore).unit: {both}",
        f"plans[1] (flood).stand_down[0] (restore).unit: {both}",
    ], reasons
    # shape problems stop before cross-checks; fix the shape, every cross-check is listed
    doc = bad_plans()
    doc["plans"][0]["stand_down"][0]["unit"] = {"unit": "NAT"}
    doc["plans"][1]["stand_down"][0]["unit"] = {"unit": "NAT"}
    found = problems(config(tmp_path / "2", doc))
    text = "\n".join(f"{f}: {r}" for f, r in found)
    for part in (
        "overdue.steps[1].to: unknown unit 'SOMEONE'",
        "plans[0] (flood).domain: unknown domain 'natural.floods'",
        "plans[0] (flood).region: unknown region 'P9'",
        "unknown level 'county'",
        "'nothing' is not another task of this stage",
        "longer than complete_within_s",
        "waits for itself",
        "unknown unit 'NOPE'",
        "response III at red is milder than I at orange",
        "plans[1] (flood).id: plan id 'flood' appears twice",
    ):
        assert part in text, (part, text)


def test_a_unit_that_answers_nowhere_is_named(tmp_path: Path) -> None:
    doc = small_plans()
    doc["plans"][0]["region"] = None  # everywhere, but only province P1 has units for floods
    units = small_config()["units.yaml"]["units"]
    kept = [u for u in units if u["code"] in ("D11-FLOOD", "P1-CP", "GRID")]
    folder = write_small_config(tmp_path / "cfg", **{"units.yaml": {"units": kept}})
    (folder / "plans.yaml").write_text(dump_yaml(doc), encoding="utf-8")
    found = problems(folder)
    assert (
        "plans[0] (flood).levels (orange).tasks[0] (levees).unit",
        "no unit answers for the district's natural.flood unit in N, P2, D21",
    ) in found


def test_bad_yaml_is_said_with_its_line(tmp_path: Path) -> None:
    found = problems(config(tmp_path, "plans:\n  - id: x\n    id: y\n"))
    assert found == [("", "not valid YAML: key 'id' appears twice in one mapping")]


def test_check_config_reports_plans_with_the_rest(tmp_path: Path) -> None:
    good = config(tmp_path / "good", small_plans())
    result = CliRunner().invoke(app, ["check-config", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 emergency plans" in result.output
    doc = small_plans()
    doc["plans"][0]["domain"] = "nope"
    bad = config(tmp_path / "bad", doc)
    (bad / "routes.yaml").write_text("route:\n  receiver: nobody\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert "unknown domain 'nope'" in result.output
    assert "unknown receiver 'nobody'" in result.output  # both files' problems, at once


def test_the_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    text = (REPO / "docs" / "incidents.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    folder = config(tmp_path, example)
    (flood,) = load_plans(folder, load_catalog(folder)).plans
    assert [len(p.tasks) for p in flood.levels] == [2, 2]
    assert flood.report_every is not None
    assert flood.report_every.total_seconds() == 21600

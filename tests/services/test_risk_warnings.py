"""Risk classes drive warnings through the same lifecycle: raise, upgrade, downgrade, lift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import BENCHDATA, REPO
from tocsin.bootstrap import Container, build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.services.risk import RegionClass
from tocsin.services.risk_warnings import reconcile_risk_warnings
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")

BOUNDS = {
    "": (0.0, 2.0),
    "blue": (2.0, 3.5),
    "yellow": (3.5, 5.0),
    "orange": (5.0, 6.5),
    "red": (6.5, 10.0),
}


def cls(region: str, level: str, value: float) -> RegionClass:
    lower, upper = BOUNDS[level]
    return RegionClass(
        region=region,
        node="RISK",
        value=value,
        class_index=0,
        label=level or "very low",
        lower=lower,
        upper=upper,
        level=level,
    )


@pytest.fixture
def container(db_url: str, tmp_path: Path) -> Iterator[Container]:
    c = build(
        Settings(database_url=db_url, config_dir=write_small_config(tmp_path / "cfg")),
        clock=FakeClock(),
    )
    yield c
    c.close()


def run(c: Container, *levels: RegionClass) -> list[tuple[str, str, str]]:
    events = reconcile_risk_warnings(
        c.store,
        c.bus,
        c.clock,
        model="demo",
        domain="natural",
        levels=levels,
        known_regions={"D11", "D12", "P1"},
    )
    return [(e.kind.value, e.to_level.value, e.to_state.value) for e in events]


def test_classes_raise_change_and_lift_warnings(container: Container) -> None:
    assert run(container, cls("D11", "yellow", 4.0), cls("D12", "", 1.0)) == [
        ("warning.raised", "yellow", "active")
    ]
    assert run(container, cls("D11", "yellow", 4.4)) == []  # same level: nothing
    assert run(container, cls("D11", "red", 7.1)) == [("warning.upgraded", "red", "active")]
    assert run(container, cls("D11", "blue", 2.2)) == [("warning.downgraded", "blue", "active")]
    assert run(container, cls("D11", "", 1.2)) == [("warning.lifted", "blue", "lifted")]
    (w,) = container.warnings.find(principal=SYSTEM, open_only=False)
    assert (w.source, w.subject, w.region, w.domain) == ("risk", "demo:RISK", "D11", "natural")
    history = container.warnings.history(w.id, principal=SYSTEM)
    assert [h.kind for h in history] == [
        "warning.raised",
        "warning.upgraded",
        "warning.downgraded",
        "warning.lifted",
    ]
    assert "class red [6.5, 10)" in history[1].reason
    assert all(h.actor == "rule:risk" for h in history)


def test_unknown_regions_are_ignored(container: Container) -> None:
    assert run(container, cls("ATLANTIS", "red", 9.0)) == []


def test_inform_classes_warn_for_configured_nations(tmp_path: Path) -> None:
    regions = {
        "levels": ["nation"],
        "regions": [
            {"code": "AFG", "name": "Afghanistan", "level": "nation"},
            {"code": "NOR", "name": "Norway", "level": "nation"},
        ],
    }
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "regions.yaml").write_text(yaml.safe_dump(regions))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    build(Settings(database_url=db, config_dir=config)).close()
    args = [
        "risk",
        "warn",
        "--model",
        str(REPO / "models" / "inform_2023.yaml"),
        "--input",
        str(BENCHDATA / "inform" / "inform_risk_2023_v065_indicator_data.csv"),
        "--domain",
        "natural",
        "--db",
        db,
    ]
    # INFORM's overall classes mix conflict with natural hazards: not filed as "natural"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "rate the overall risk of INFORM Risk 2023" in result.output
    assert "--domain composite" in result.output
    c = build(Settings(database_url=db))
    assert c.warnings.find(principal=SYSTEM, open_only=False) == []
    c.close()
    args[args.index("natural")] = "composite"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary == {"classified": 191, "transitions": {"warning.raised": 1}}
    c = build(Settings(database_url=db))
    (w,) = c.warnings.find(principal=SYSTEM)
    c.close()
    # INFORM 2023 rates Afghanistan "Very High" (red); Norway "Very Low" gets no warning
    assert (w.region, w.level.value, w.explanation["class"]) == ("AFG", "red", "Very High")
    assert (w.domain, w.explanation["name"]) == ("composite", "INFORM Risk")

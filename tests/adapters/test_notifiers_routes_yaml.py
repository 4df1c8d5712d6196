"""routes.yaml and escalation.yaml: the documented example loads; every problem is reported."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.errors import InvalidConfig
from tocsin.core.levels import Level
from tocsin.core.warnings.outbox import PayloadFormat
from tocsin.testing.scenario import write_small_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "warnings.md"


def _documented(name: str) -> str:
    """The YAML block that follows '# <name>' in docs/warnings.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"```yaml\n# " + re.escape(name) + r"\n(.*?)```", text, re.S)
    assert match is not None, f"no {name} example in docs/warnings.md"
    return match.group(1)


def test_documented_example_loads(tmp_path: Path) -> None:
    directory = write_small_config(tmp_path)
    (directory / "routes.yaml").write_text(_documented("routes.yaml"), encoding="utf-8")
    (directory / "escalation.yaml").write_text(_documented("escalation.yaml"), encoding="utf-8")
    config = load_alerting(directory, load_catalog(directory))
    root = config.root
    assert root.timing.group_wait == timedelta(seconds=30)
    red = root.routes[0]
    assert red.receiver == "duty-desk"
    assert red.selector.levels == frozenset({Level.RED})
    assert red.timing.group_wait == timedelta(0)
    assert red.group_by == root.group_by  # inherited
    assert config.receivers["duty-desk"][0].format is PayloadFormat.ALERTMANAGER
    assert "maintenance" in config.mute_windows
    assert config.escalation[0].steps[0].after == timedelta(minutes=15)


def test_every_problem_has_file_path_and_reason(tmp_path: Path) -> None:
    directory = write_small_config(tmp_path)
    routes = {
        "route": {
            "receiver": "nobody",
            "mute_windows": ["never-defined"],
            "routes": [{"match": {"region": "XX", "matchers": ["bad matcher"]}}],
        },
        "receivers": [{"name": "NAT", "webhooks": []}],
        "mute_windows": [{"name": "w", "timezone": "Mars/Olympus", "days_of_month": [40]}],
    }
    escalation = {"policies": [{"name": "p", "steps": [{"after_s": 60, "to": "GHOST"}]}]}
    (directory / "routes.yaml").write_text(yaml.safe_dump(routes), encoding="utf-8")
    (directory / "escalation.yaml").write_text(yaml.safe_dump(escalation), encoding="utf-8")
    with pytest.raises(InvalidConfig) as err:
        load_alerting(directory, load_catalog(directory))
    found = {(Path(p.where).name, p.field) for p in err.value.problems}
    assert found == {
        ("routes.yaml", "route.receiver"),
        ("routes.yaml", "route.mute_windows"),
        ("routes.yaml", "route.routes[0].match.region"),
        ("routes.yaml", "route.routes[0].match.matchers[0]"),
        ("routes.yaml", "receivers[0].name"),
        ("routes.yaml", "receivers[0]"),
        ("routes.yaml", "mute_windows[0].timezone"),
        ("routes.yaml", "mute_windows[0].days_of_month[0]"),
        ("escalation.yaml", "policies[0].steps[0].to"),
    }


def test_schema_errors_name_the_path(tmp_path: Path) -> None:
    directory = write_small_config(tmp_path)
    (directory / "routes.yaml").write_text("route:\n  group_wait_s: -1\n  colour: red\n")
    with pytest.raises(InvalidConfig) as err:
        load_alerting(directory, load_catalog(directory))
    assert {p.field for p in err.value.problems} == {"route.group_wait_s", "route.colour"}

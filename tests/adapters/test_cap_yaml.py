"""cap.yaml: read into the public alert configuration; every problem named with its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.adapters.cap_yaml import load_cap
from tocsin.adapters.config_yaml import dump_yaml, load_catalog
from tocsin.cli.main import app
from tocsin.core.cap.config import CapConfig, LiftAs
from tocsin.core.errors import InvalidConfig
from tocsin.core.levels import Level
from tocsin.testing.scenario import small_cap_config, write_small_config


def _load(tmp_path: Path, **overrides: object) -> CapConfig:
    config = write_small_config(tmp_path / "config")
    (config / "cap.yaml").write_text(dump_yaml({**small_cap_config(), **overrides}))
    return load_cap(config, load_catalog(config), base_url="http://x")


def test_a_good_file_gives_languages_templates_subscribers_rules_and_sources(
    tmp_path: Path,
) -> None:
    config = _load(
        tmp_path,
        lift_as="all_clear",
        auto_publish=[{"domain": "natural", "levels": ["red"]}],
        subscribers=[{"name": "radio", "emails": ["r@x.test"], "regions": ["P1"]}],
        **{
            "import": {
                "rules": [{"name": "n", "domain": "natural.flood", "events": ["flood"]}],
                "sources": [{"name": "nb", "url": "https://nb.example/feed.atom"}],
            }
        },
    )
    assert config.languages == ("en-GB", "fr-FR")
    assert config.lift_as is LiftAs.ALL_CLEAR
    assert config.auto_publishes(("natural.flood", "natural"), Level.RED)
    (radio,) = config.subscribers
    assert radio.regions == {"P1", "D11", "D12"}  # the subtree
    assert [s.url for s in config.sources] == ["https://nb.example/feed.atom"]
    assert config.base_url == "http://tocsin.example"


def test_every_problem_is_named_with_its_path(tmp_path: Path) -> None:
    texts = {"en": {"event": "{nope}", "headline": "{region", "description": "", "instruction": ""}}
    with pytest.raises(InvalidConfig) as err:
        _load(
            tmp_path,
            languages=["en-GB", "de-DE"],
            templates={"default": texts, "weather": texts},
            auto_publish=[{"domain": "nope", "levels": ["red"]}],
            subscribers=[{"name": "s", "regions": ["ZZ"]}],
            **{"import": {"rules": [{"name": "r", "domain": "natural.flood", "events": ["("]}]}},
        )
    where = {p.field for p in err.value.problems}
    assert {
        "templates.default.en.event",
        "templates.default.en.headline",
        "templates.weather",
        "templates.default",  # no texts for de-DE
        "auto_publish[0].domain",
        "subscribers[0]",
        "subscribers[0].regions[0]",
        "import.rules[0].events[0]",
    } <= where


def test_check_config_reads_cap_yaml(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config")
    (config / "cap.yaml").write_text(dump_yaml({"languages": ["fr-FR"], "bogus": 1}))
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    assert "unknown key 'bogus'" in result.output

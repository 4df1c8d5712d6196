"""sources.yaml: validated against the catalogue, every problem named with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.sources_yaml import load_sources
from tocsin.cli.main import app
from tocsin.core.errors import InvalidConfig
from tocsin.core.sources import TimeUnit
from tocsin.testing.scenario import write_small_config

GOOD: dict[str, Any] = {
    "silence": {"after_cadences": 2.5, "level": "orange"},
    "prometheus": [{"indicator": "D11.river_level", "match": {"__name__": "level"}}],
    "influx": [{"indicator": "D12.river_level", "match": {"_measurement": "gauge"}}],
    "mqtt": {
        "broker": {"host": "127.0.0.1"},
        "topics": [{"topic": "sensors/+/level", "indicator": "D11.river_level"}],
    },
    "pull": [
        {
            "name": "q",
            "url": "https://example.org/q.geojson",
            "format": "geojson",
            "every_s": 60,
            "indicator": "D11.river_level",
            "value": "properties.mag",
            "time": "properties.time",
            "time_unit": "ms",
        }
    ],
}


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    config = write_small_config(tmp_path / "config")
    (config / "sources.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return config


def test_a_valid_file_becomes_the_sources_config(tmp_path: Path) -> None:
    config = _write(tmp_path, GOOD)
    sources = load_sources(config, load_catalog(config))
    assert sources.prometheus.indicator_for({"__name__": "level", "x": "1"}) == "D11.river_level"
    assert sources.influx.indicator_for({"_measurement": "other"}) is None
    assert sources.mqtt_topics[0].qos == 1
    assert sources.pull[0].time_unit is TimeUnit.MILLISECONDS
    assert (sources.silent_after_cadences, sources.silent_level) == (2.5, "orange")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"prometheus": [{"indicator": "nope", "match": {"__name__": "x"}}]},
            ("prometheus[0].indicator", "unknown indicator 'nope'"),
        ),
        (
            {"prometheus": [{"indicator": "D11.river_level", "match": {}}]},
            ("prometheus[0].match", "at least 1 item"),
        ),
        (
            {
                "mqtt": {
                    **GOOD["mqtt"],
                    "topics": [{"topic": "a/#/b", "indicator": "D11.river_level"}],
                }
            },
            ("mqtt.topics[0].topic", "'#' must be a whole level and the last one"),
        ),
        (
            {"mqtt": {**GOOD["mqtt"], "topics": [{"topic": "a/b", "value": "v"}]}},
            ("mqtt.topics[0]", "give either indicator or indicator_field"),
        ),
        (
            {
                "mqtt": {
                    **GOOD["mqtt"],
                    "topics": [{"topic": "a/b", "indicator_field": "code", "value": "v"}],
                }
            },
            ("mqtt.topics[0].indicator_field", "only a batch (records) has one"),
        ),
        (
            {
                "mqtt": {
                    **GOOD["mqtt"],
                    "topics": [{"topic": "a/b", "records": "r", "indicator_field": "code"}],
                }
            },
            ("mqtt.topics[0].value", "a batch's records need the value's path"),
        ),
        (
            {"mqtt": {**GOOD["mqtt"], "broker": {"host": "h", "max_payload_bytes": 10}}},
            ("mqtt.broker.max_payload_bytes", "greater than or equal to 64"),
        ),
        (
            {"pull": [{**GOOD["pull"][0], "url": "file:///etc/passwd"}]},
            ("pull[0].url", "not an http(s) URL"),
        ),
        (
            {"pull": [{**GOOD["pull"][0], "indicator_field": "id"}]},
            ("pull[0]", "give either indicator or indicator_field"),
        ),
        (
            {"pull": [GOOD["pull"][0], dict(GOOD["pull"][0])]},  # a copy: no YAML alias
            ("pull[1].name", "duplicate name 'q'"),
        ),
        (
            {"silence": {"after_cadence": 3}},
            ("silence.after_cadence", "did you mean 'after_cadences'"),
        ),
        (
            {"pull": [{**GOOD["pull"][0], "time_unit": "hours"}]},
            ("pull[0].time_unit", "Input should be"),
        ),
    ],
)
def test_each_problem_is_named(
    tmp_path: Path, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    config = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(InvalidConfig) as err:
        load_sources(config, load_catalog(config))
    found = [(p.field, p.reason) for p in err.value.problems]
    assert any(f == expected[0] and expected[1] in r for f, r in found), found
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    assert "sources.yaml" in result.output

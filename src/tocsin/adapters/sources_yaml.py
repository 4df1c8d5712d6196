"""The collectors' configuration: `sources.yaml`, validated against the catalogue.

Optional. Every problem is collected with file, path inside the file and reason
(`config_errors`), and `tocsin check-config` runs the same validation:

```yaml
silence: {after_cadences: 3, level: yellow}     # stale sources (indicators with cadence_s)
prometheus:                                     # remote write: POST /api/v1/write
  - indicator: D11.river_level
    match: {__name__: river_level_metres, station: D11}
influx:                                         # line protocol: POST /api/v2/write
  - indicator: D11.rain
    match: {_measurement: weather, _field: rain_mm, station: D11}
mqtt:
  broker: {host: 127.0.0.1, port: 1883, client_id: tocsin}
  topics:
    - {topic: sensors/D11/level, indicator: D11.river_level, value: level, time: ts}
pull:
  - name: gauges
    url: https://example.org/gauges.json
    format: json                                # json, geojson or csv
    every_s: 300
    records: stations
    indicator_field: id
    indicators: {"4711": D11.river_level}
    value: level_m
    time: observed_at
    time_unit: rfc3339                          # s, ms or rfc3339
advisories:                                     # vulnerability feeds (docs/exposure.md)
  - name: kev
    feed: kev                                   # nvd, kev or osv
    location: https://example.org/known_exploited_vulnerabilities.json   # or a file
    every_s: 86400
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.adapters.config_errors import read_document, validation_problems
from tocsin.core.catalog import Catalog
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.levels import Level
from tocsin.core.sources import (
    AdvisorySource,
    MqttBroker,
    MqttTopic,
    PullSource,
    SeriesMap,
    SeriesRule,
    SourcesConfig,
    TimeUnit,
)

FILE = "sources.yaml"
Label = Annotated[str, Field(min_length=1, max_length=128)]
Path_ = Annotated[str, Field(min_length=1, max_length=256)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SilenceSpec(_Strict):
    """When a source counts as silent: after this many cadences without an observation."""

    after_cadences: float = Field(default=3.0, gt=0, le=1000)
    level: Level = Level.YELLOW


class SeriesSpec(_Strict):
    """Series whose labels include all of `match` are observations of `indicator`."""

    indicator: str
    match: Annotated[dict[Label, Annotated[str, Field(max_length=1024)]], Field(min_length=1)]


class BrokerSpec(_Strict):
    """The MQTT broker."""

    host: str = Field(min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(default="tocsin", min_length=1, max_length=128)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    username: str | None = None
    password_env: str | None = None
    max_payload_bytes: int = Field(default=1 << 20, ge=64, le=256 << 20)


class TopicSpec(_Strict):
    """An MQTT subscription."""

    topic: str = Field(min_length=1, max_length=1024)
    indicator: str | None = None
    value: Path_ | None = None
    time: Path_ | None = None
    time_unit: TimeUnit = TimeUnit.SECONDS
    qos: Literal[0, 1] = 1
    records: Annotated[str, Field(max_length=256)] | None = None
    indicator_field: Path_ | None = None


class MqttSpec(_Strict):
    """The broker and the subscriptions."""

    broker: BrokerSpec
    topics: Annotated[list[TopicSpec], Field(min_length=1)]


class PullSpec(_Strict):
    """A pulled feed."""

    name: str = Field(min_length=1, max_length=128)
    url: str = Field(min_length=1, max_length=4096)
    format: Literal["json", "geojson", "csv"]
    every_s: float = Field(ge=1, le=86_400)
    records: str = ""
    indicator: str | None = None
    indicator_field: Path_ | None = None
    indicators: dict[str, str] = {}
    value: Path_
    time: Path_
    time_unit: TimeUnit = TimeUnit.SECONDS


class AdvisorySpec(_Strict):
    """A vulnerability feed imported on a schedule."""

    name: str = Field(min_length=1, max_length=128)
    feed: Literal["nvd", "kev", "osv"]
    location: str = Field(min_length=1, max_length=4096)
    every_s: float = Field(ge=60, le=7 * 86_400)


class SourcesFile(_Strict):
    """sources.yaml."""

    silence: SilenceSpec = SilenceSpec()
    prometheus: list[SeriesSpec] = []
    influx: list[SeriesSpec] = []
    mqtt: MqttSpec | None = None
    pull: list[PullSpec] = []
    advisories: list[AdvisorySpec] = []


def _topic_problem(topic: str) -> str | None:
    """Why an MQTT topic filter is malformed (MQTT 3.1.1 §4.7), or None."""
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def _cross_problems(doc: SourcesFile, catalog: Catalog, *, where: str) -> list[Problem]:
    known = {i.code for i in catalog.indicators}
    named: list[tuple[str, str]] = [
        *((f"prometheus[{i}].indicator", s.indicator) for i, s in enumerate(doc.prometheus)),
        *((f"influx[{i}].indicator", s.indicator) for i, s in enumerate(doc.influx)),
        *(
            (f"mqtt.topics[{i}].indicator", t.indicator)
            for i, t in enumerate(doc.mqtt.topics if doc.mqtt else [])
            if t.indicator is not None
        ),
    ]
    for i, p in enumerate(doc.pull):
        if p.indicator is not None:
            named.append((f"pull[{i}].indicator", p.indicator))
        named += [(f"pull[{i}].indicators.{k}", v) for k, v in p.indicators.items()]
    out = [
        Problem(where, at, f"unknown indicator {code!r}") for at, code in named if code not in known
    ]
    for i, t in enumerate(doc.mqtt.topics if doc.mqtt else []):
        out += _topic_problems(t, f"mqtt.topics[{i}]", where=where)
    for i, p in enumerate(doc.pull):
        out += _pull_problems(p, f"pull[{i}]", where=where)
    for section, names in (
        ("pull", [p.name for p in doc.pull]),
        ("advisories", [a.name for a in doc.advisories]),
    ):
        out += [
            Problem(where, f"{section}[{i}].name", f"duplicate name {n!r}")
            for i, n in enumerate(names)
            if n in names[:i]
        ]
    return out


def _topic_problems(t: TopicSpec, at: str, *, where: str) -> list[Problem]:
    out = []
    if (reason := _topic_problem(t.topic)) is not None:
        out.append(Problem(where, f"{at}.topic", reason))
    if (t.indicator is None) == (t.indicator_field is None):
        out.append(Problem(where, at, "give either indicator or indicator_field"))
    if t.records is None and t.indicator_field is not None:
        out.append(Problem(where, f"{at}.indicator_field", "only a batch (records) has one"))
    if t.records is not None and t.value is None:
        out.append(Problem(where, f"{at}.value", "a batch's records need the value's path"))
    return out


def _pull_problems(p: PullSpec, at: str, *, where: str) -> list[Problem]:
    out = []
    if urlparse(p.url).scheme not in ("http", "https") or not urlparse(p.url).netloc:
        out.append(Problem(where, f"{at}.url", f"not an http(s) URL: {p.url!r}"))
    if (p.indicator is None) == (p.indicator_field is None):
        out.append(Problem(where, at, "give either indicator or indicator_field (with indicators)"))
    if p.indicator_field is not None and not p.indicators:
        out.append(Problem(where, f"{at}.indicators", "indicator_field needs a map of indicators"))
    return out


def load_sources(directory: Path, catalog: Catalog) -> SourcesConfig:
    """Read and validate `sources.yaml` (absent: no collectors); InvalidConfig lists problems."""
    path = directory / FILE
    if not path.exists():
        return SourcesConfig()
    problems: list[Problem] = []
    raw = read_document(path, problems)
    if raw is None and not problems:
        return SourcesConfig()
    doc = None
    if raw is not None:
        try:
            doc = SourcesFile.model_validate(raw)
        except ValidationError as err:
            problems += validation_problems(err, str(path), data=raw, model=SourcesFile)
    if doc is not None:
        problems += _cross_problems(doc, catalog, where=str(path))
    if problems or doc is None:
        raise InvalidConfig(problems)
    return _config(doc, directory=directory)


def _advisory(a: AdvisorySpec, *, directory: Path) -> AdvisorySource:
    """A file location is taken relative to the configuration directory."""
    remote = a.location.startswith(("http://", "https://"))
    location = a.location if remote else str(directory / a.location)
    return AdvisorySource(a.name, a.feed, location, a.every_s)


def _config(doc: SourcesFile, *, directory: Path) -> SourcesConfig:
    mqtt = doc.mqtt
    return SourcesConfig(
        prometheus=SeriesMap.build(
            [SeriesRule(s.indicator, dict(s.match)) for s in doc.prometheus], key="__name__"
        ),
        influx=SeriesMap.build(
            [SeriesRule(s.indicator, dict(s.match)) for s in doc.influx], key="_measurement"
        ),
        mqtt_broker=MqttBroker(**mqtt.broker.model_dump()) if mqtt else None,
        mqtt_topics=tuple(MqttTopic(**t.model_dump()) for t in (mqtt.topics if mqtt else [])),
        pull=tuple(PullSource(**p.model_dump()) for p in doc.pull),
        advisories=tuple(_advisory(a, directory=directory) for a in doc.advisories),
        silent_after_cadences=doc.silence.after_cadences,
        silent_level=doc.silence.level.value,
    )

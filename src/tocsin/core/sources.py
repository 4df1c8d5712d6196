"""Sources: how the series of collectors (Prometheus, InfluxDB line protocol, MQTT, pulled feeds)
become indicators, and the counts that say what did not.

A series is a set of labels (Prometheus: `__name__` and its labels; line protocol:
`_measurement`, `_field` and the tags). A `SeriesRule` maps every series whose labels include
all of its labels (equality only: matching is linear, no pattern can be made slow) to one
indicator; the first rule that matches wins. A series no rule matches is counted as unmapped,
with its labels kept as an example (a bounded number), never dropped silently.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.core.errors import Problem

MAX_EXAMPLES = 100
MAX_EXAMPLE_CHARS = 300  # a series name kept as an example is cut here (labels may be megabytes)
MAX_REFUSALS = 20  # the latest refused messages kept per kind of source


class SourceKind(StrEnum):
    """The kinds of sources."""

    API = "api"
    PROMETHEUS = "prometheus"
    INFLUX = "influx"
    MQTT = "mqtt"
    PULL = "pull"


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """Series whose labels include all of `labels` are observations of `indicator`."""

    indicator: str
    labels: Mapping[str, str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a series' labels include every label of this rule."""
        return all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True)
class SeriesMap:
    """Rules in order, indexed by the value of `key` (a label every rule names, if any)."""

    rules: tuple[SeriesRule, ...] = ()
    key: str = "__name__"
    _by_key: Mapping[str | None, Sequence[SeriesRule]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, rules: Sequence[SeriesRule], *, key: str) -> SeriesMap:
        """Index the rules by their value of `key` (rules without it are tried for all)."""
        by_key: dict[str | None, list[SeriesRule]] = {}
        for rule in rules:
            by_key.setdefault(rule.labels.get(key), []).append(rule)
        return cls(tuple(rules), key, by_key)

    def indicator_for(self, labels: Mapping[str, str]) -> str | None:
        """The indicator of the first rule that matches, or None."""
        candidates = [*self._by_key.get(labels.get(self.key), ()), *self._by_key.get(None, ())]
        if len(candidates) > 1:  # keep the configured order
            order = {id(r): i for i, r in enumerate(self.rules)}
            candidates.sort(key=lambda r: order[id(r)])
        return next((r.indicator for r in candidates if r.matches(labels)), None)


def series_name(labels: Mapping[str, str]) -> str:
    """A series as Prometheus writes it: `name{a="1",b="2"}`."""
    name = labels.get("__name__") or labels.get("_measurement", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


@dataclass
class SourceCounts:
    """What one source delivered: samples mapped and stored, unmapped, skipped, refused."""

    received: int = 0
    stored: int = 0
    unmapped: int = 0
    skipped: int = 0  # not a finite number (Prometheus staleness markers, NaN), or not numeric
    refused: int = 0  # in writes the ingest refused (their problems are answered or logged)
    examples: OrderedDict[str, int] = field(default_factory=OrderedDict)
    refusals: deque[Refusal] = field(default_factory=lambda: deque(maxlen=MAX_REFUSALS))

    def refused_message(self, refusal: Refusal, rows: int = 1) -> None:
        """Count a message (or fetch) refused whole before its rows reached the ingest, and
        keep it among the latest refusals (`GET /api/v1/sources` shows them)."""
        self.refused += rows
        self.refusals.append(refusal)

    def unmapped_series(self, name: str, count: int = 1) -> None:
        """Count samples of a series no rule maps; keep it as an example (the latest kept)."""
        self.unmapped += count
        if len(name) > MAX_EXAMPLE_CHARS:
            name = f"{name[:MAX_EXAMPLE_CHARS]}… ({len(name):,} characters)"
        self.examples[name] = self.examples.pop(name, 0) + count
        while len(self.examples) > MAX_EXAMPLES:
            self.examples.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A message a collector refused whole: where it came from (an MQTT topic) and its
    problems (where in the message, which field, why); nothing of it was stored."""

    source: str
    problems: tuple[Problem, ...]


class TimeUnit(StrEnum):
    """How a pulled or received time is written."""

    SECONDS = "s"
    MILLISECONDS = "ms"
    RFC3339 = "rfc3339"


@dataclass(frozen=True, slots=True)
class MqttTopic:
    """A subscription: messages on `topic` (a filter, + and # allowed) are observations of
    `indicator`; the value (and the time) at dotted paths of a JSON payload, or the payload
    itself a number (time: when it was received). With `records`, a payload is a batch: a list
    of records, each an observation (of `indicator`, or of the indicator its `indicator_field`
    names), stored all together or refused whole."""

    topic: str
    indicator: str | None = None
    value: str | None = None
    time: str | None = None
    time_unit: TimeUnit = TimeUnit.SECONDS
    qos: int = 1
    records: str | None = None  # a batch: the dotted path to its list of records ("": the payload)
    indicator_field: str | None = None  # a batch record's field naming its indicator


@dataclass(frozen=True, slots=True)
class MqttBroker:
    """Where the broker is and who Tocsin is to it (the session persists across reconnects)."""

    host: str
    port: int = 1883
    client_id: str = "tocsin"
    keepalive_s: int = 30
    username: str | None = None
    password_env: str | None = None  # the name of the environment variable with the password
    max_payload_bytes: int = 1 << 20  # a larger message is refused whole, before it is decoded


@dataclass(frozen=True, slots=True)
class PullSource:
    """A feed fetched every `every_s` seconds (conditional GET); each record an observation.

    `records` is the dotted path to the list of records (JSON; GeoJSON: `features`); the
    indicator is `indicator`, or looked up from the record's `indicator_field` in
    `indicators`; value and time are dotted paths into the record (CSV: column names).
    """

    name: str
    url: str
    format: str
    every_s: float
    value: str
    time: str
    time_unit: TimeUnit = TimeUnit.SECONDS
    records: str = ""
    indicator: str | None = None
    indicator_field: str | None = None
    indicators: Mapping[str, str] = field(default_factory=dict)

    def indicator_of(self, key: object) -> str | None:
        """The indicator of a record whose `indicator_field` holds `key`."""
        return self.indicator or self.indicators.get(str(key))


@dataclass(frozen=True, slots=True)
class AdvisorySource:
    """A vulnerability feed (`nvd`, `kev` or `osv`) imported from `location` (an http(s) URL
    or a file) every `every_s` seconds."""

    name: str
    feed: str
    location: str
    every_s: float


@dataclass(frozen=True)
class SourcesConfig:
    """Everything `sources.yaml` configures."""

    prometheus: SeriesMap = SeriesMap(key="__name__")
    influx: SeriesMap = SeriesMap(key="_measurement")
    mqtt_broker: MqttBroker | None = None
    mqtt_topics: tuple[MqttTopic, ...] = ()
    pull: tuple[PullSource, ...] = ()
    advisories: tuple[AdvisorySource, ...] = ()
    silent_after_cadences: float = 3.0
    silent_level: str = "yellow"

"""InfluxDB line protocol (`POST /api/v2/write`, and InfluxDB 1.x's `POST /write`), so Telegraf
and the gateways that speak it feed Tocsin unchanged; decoded line by line as the body arrives.

`measurement[,tag=value...] field=value[,field=value...] [timestamp]` (InfluxDB v2 reference,
"Line protocol"): commas, spaces and equals signs in names are escaped with a backslash; field
values are floats (`1.5`, `-2e3`), 64-bit integers (`12i`), unsigned ones (`12u`), strings
(`"text"`) or booleans; the timestamp is an integer in the `precision` of the query string
(`ns` by default, `us`, `ms`, `s`; on `/write` InfluxDB 1.x's `n`, `u`, `ms`, `s`, `m`, `h`), or
absent (the time of receipt). Lines starting with `#` are comments.

Each field is a series `{_measurement, _field, tags...}` mapped to an indicator by the
configured label matchers (`sources.yaml`, `influx:`; a tag named `_measurement` or `_field`
does not stand for them, and a tag needs a value); an unmapped one is counted, a mapped
field that is not a number (string, boolean) is counted as skipped. A line that is not line
protocol refuses the whole body, naming the line.
"""

from __future__ import annotations

import re

import numpy as np

from tocsin.api.fields import EPOCH_HELP, EPOCH_MAX, EPOCH_MIN
from tocsin.api.rows import LineBody, RowSink
from tocsin.core.sources import SeriesMap, SourceCounts, series_name

# a timestamp's unit: (seconds per unit as a fraction: multiply, then divide)
Precision = tuple[int, int]
PRECISION: dict[str, Precision] = {
    "ns": (1, 1_000_000_000),
    "us": (1, 1_000_000),
    "ms": (1, 1_000),
    "s": (1, 1),
}
# InfluxDB 1.x's `/write` names them n, u, ms, s, m, h (ns and us are taken too)
V1_PRECISION: dict[str, Precision] = {
    "n": PRECISION["ns"],
    "ns": PRECISION["ns"],
    "u": PRECISION["us"],
    "us": PRECISION["us"],
    "ms": PRECISION["ms"],
    "s": PRECISION["s"],
    "m": (60, 1),
    "h": (3_600, 1),
}
_KEY = r"(?:[^,=\s\\]|\\.)+"
_FIELD_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^,\s"]+)'
LINE = re.compile(
    rf"((?:[^,\s\\]|\\.)+)((?:,{_KEY}=(?:[^,=\s\\]|\\.)+)*)"
    rf"\s+({_KEY}={_FIELD_VALUE}(?:,{_KEY}={_FIELD_VALUE})*)(?:\s+(-?\d+))?\s*"
)
TAG = re.compile(rf"({_KEY})=((?:[^,=\s\\]|\\.)+)")
FIELD = re.compile(rf"({_KEY})=({_FIELD_VALUE})")
ESCAPED = re.compile(r"\\([,= \\\"])")
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
MAX_STAMP_DIGITS = 30  # the largest time in range, in nanoseconds, has 21
INTEGER_RANGE = {"i": (-(2**63), 2**63 - 1), "u": (0, 2**64 - 1)}
BOOLEANS = frozenset({"t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"})


def _unescape(text: str) -> str:
    return ESCAPED.sub(r"\1", text)


def field_number(text: str) -> float | None:
    """The number a field value holds, None for a string or a boolean; ValueError otherwise."""
    if text.startswith('"') or text in BOOLEANS:
        return None
    if text[-1:] in ("i", "u") and re.fullmatch(r"-?\d+", text[:-1]):
        if text[-1] == "u" and text.startswith("-"):
            raise ValueError(f"not an unsigned integer: {text}")
        low, high = INTEGER_RANGE[text[-1]]
        if len(text) > 22 or not low <= int(text[:-1]) <= high:  # 2**64 has 20 digits
            raise ValueError(f"out of the range of a 64-bit integer: {text:.40}")
        return float(int(text[:-1]))
    if NUMBER.fullmatch(text):
        return float(text)
    raise ValueError(f"not a field value: {text}")


class LineProtocolRows(LineBody):
    """A line-protocol body, fed chunk by chunk."""

    def __init__(
        self,
        sink: RowSink,
        *,
        series: SeriesMap,
        counts: SourceCounts,
        precision: str,
        now_s: int,
        precisions: dict[str, Precision] = PRECISION,
    ) -> None:
        super().__init__(sink)
        self.series = series
        self.counts = counts
        self.now_s = now_s
        self.unit = precisions.get(precision)
        if self.unit is None:
            named = ", ".join(precisions)
            sink.problem(-1, "precision", f"{precision!r} is not one of {named}")

    def take(self, lines: list[tuple[int, bytes]]) -> None:
        """Decode a run of lines; the mapped fields of each are rows."""
        codes: list[str] = []
        times: list[int] = []
        values: list[float] = []
        numbers: list[int] = []
        for number, raw in lines:
            if self.sink.full:
                return
            for code, time, value in self._line(number, raw):
                codes.append(code)
                times.append(time)
                values.append(value)
                numbers.append(number)
        if codes:
            self.sink.add(
                codes,
                np.array(times, dtype=np.int64),
                np.array(values, dtype=np.float64),
                numbers=np.array(numbers, dtype=np.int64),
            )

    def _seconds(self, stamp: str) -> int | None:
        """A timestamp in seconds (None: past any precision's range, refused before Python's
        int() would refuse it with its own message at 4,300 digits)."""
        if self.unit is None:
            return self.now_s  # the precision is refused already
        if len(stamp.lstrip("-")) > MAX_STAMP_DIGITS:
            return None
        return int(stamp) * self.unit[0] // self.unit[1]

    def _line(self, number: int, raw: bytes) -> list[tuple[str, int, float]]:
        """The mapped (indicator, time, value) of one line; problems are noted in the sink."""
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self.sink.problem(number, "", "not UTF-8 text")
            return []
        if not text or text.startswith("#"):
            return []
        match = LINE.fullmatch(text)
        if match is None:
            self.sink.problem(number, "", "not line protocol: measurement[,tags] fields [time]")
            return []
        measurement, tags, fields, stamp = match.groups()
        labels = {_unescape(k): _unescape(v) for k, v in TAG.findall(tags)}
        labels["_measurement"] = _unescape(measurement)  # a tag named so cannot stand for it
        time_s = self.now_s if stamp is None else self._seconds(stamp)
        if time_s is None or not EPOCH_MIN <= time_s <= EPOCH_MAX:
            shown = stamp if len(stamp or "") <= 40 else f"{stamp[:40]}… ({len(stamp):,} digits)"
            self.sink.problem(number, "time", f"{shown} is not {EPOCH_HELP} in this precision")
            return []
        out = []
        for key, text_value in FIELD.findall(fields):
            series = {**labels, "_field": _unescape(key)}
            try:
                value = field_number(text_value)
            except ValueError as err:
                self.sink.problem(number, _unescape(key), str(err))
                continue
            self.counts.received += 1
            indicator = self.series.indicator_for(series)
            if indicator is None:
                self.counts.unmapped_series(series_name(series))
            elif value is None or not np.isfinite(value):
                self.counts.skipped += 1
            else:
                out.append((indicator, time_s, value))
        return out

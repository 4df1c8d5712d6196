"""Prometheus remote write 1.0 (`POST /api/v1/write`): a snappy-compressed protobuf
`WriteRequest`, decoded here without generated code.

The message (prometheus/prompb types.proto and remote.proto): WriteRequest { repeated
TimeSeries timeseries = 1; } TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
} Label { string name = 1; string value = 2; } Sample { double value = 1; int64 timestamp = 2; }
(milliseconds). Other fields (metadata, exemplars, histograms) are skipped by wire type.

A body that is not snappy, or not this protobuf (a wire type protobuf does not define, a field
number 0, a field running past its message, text that is not UTF-8), is refused 400 naming why,
as Prometheus's own receiver answers a request it cannot decode; a sample's problem (its time)
is a 422 naming the sample.

Each series is mapped to an indicator by the configured label matchers (`sources.yaml`,
`prometheus:`); an unmapped series is counted and kept as an example, never an error (Prometheus
drops a write answered 4xx). Samples that are not finite numbers (staleness markers, NaN) are
counted as skipped. Times are truncated to whole seconds; a series with two samples in one
second keeps the later.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import overload

import cramjam
import numpy as np

from tocsin.api.rows import RowSink
from tocsin.core.errors import Problem, Unreadable
from tocsin.core.sources import SeriesMap, SourceCounts, series_name

MAX_EXPANSION = 8  # a decompressed body may be at most this many times the body limit
_DOUBLE = struct.Struct("<d")


class ProtobufError(ValueError):
    """The bytes are not the protobuf message expected."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ProtobufError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes, *, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) of each field in buf[start:end]."""
    out = []
    pos = start
    while pos < end:
        at = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError(
                f"field number 0 at byte {at} (protobuf's field numbers start at 1)"
            )
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, wire, value, pos))
        elif wire == 1:
            out.append((number, wire, pos, pos + 8))
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            out.append((number, wire, pos, pos + length))
            pos += length
        elif wire == 5:
            out.append((number, wire, pos, pos + 4))
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        if pos > end:
            raise ProtobufError("a field runs past its message")
    return out


def _series(buf: bytes, *, start: int, end: int) -> tuple[dict[str, str], list[tuple[float, int]]]:
    labels: dict[str, str] = {}
    samples: list[tuple[float, int]] = []
    for number, wire, a, b in _fields(buf, start=start, end=end):
        if number == 1 and wire == 2:
            name = value = ""
            for n, w, x, y in _fields(buf, start=a, end=b):
                if w == 2 and n in (1, 2):
                    text = buf[x:y].decode("utf-8")
                    name, value = (text, value) if n == 1 else (name, text)
            labels[name] = value
        elif number == 2 and wire == 2:
            value_f, stamp = float("nan"), 0
            for n, w, x, _ in _fields(buf, start=a, end=b):
                if n == 1 and w == 1:
                    value_f = _DOUBLE.unpack_from(buf, x)[0]
                elif n == 2 and w == 0:
                    stamp = x - (1 << 64) if x >= 1 << 63 else x
            samples.append((value_f, stamp))
    return labels, samples


def decode_write_request(buf: bytes) -> list[tuple[dict[str, str], list[tuple[float, int]]]]:
    """The series of a WriteRequest: labels and (value, timestamp in ms) samples."""
    return [
        _series(buf, start=a, end=b)
        for number, wire, a, b in _fields(buf, start=0, end=len(buf))
        if number == 1 and wire == 2
    ]


class RemoteWriteRows:
    """A remote-write body: collected (it is one snappy block), decoded at the end."""

    def __init__(
        self, sink: RowSink, *, series: SeriesMap, counts: SourceCounts, max_bytes: int
    ) -> None:
        self.sink = sink
        self.series = series
        self.counts = counts
        self.max_bytes = max_bytes
        self.pending = bytearray()

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body."""
        self.pending += data

    def finish(self) -> None:
        """Decompress, decode and map the series."""
        try:
            declared, _ = _varint(bytes(self.pending[:10]), 0)
            if declared > MAX_EXPANSION * self.max_bytes:
                raise ProtobufError(f"declares {declared:,} bytes uncompressed")
            buf = bytes(cramjam.snappy.decompress_raw(bytes(self.pending)))
            decoded = decode_write_request(buf)
        except (ProtobufError, UnicodeDecodeError, cramjam.DecompressionError) as err:
            reason = f"not a snappy-compressed remote-write request: {err}"
            raise Unreadable([Problem("body", "", reason)]) from None
        self.pending = bytearray()
        self.sink.places = SamplePlaces(decoded)
        first = 0
        for index, (labels, samples) in enumerate(decoded):
            self._add(index, first, labels=labels, samples=samples)
            first += len(samples)

    def _add(
        self, index: int, first: int, *, labels: dict[str, str], samples: list[tuple[float, int]]
    ) -> None:
        self.counts.received += len(samples)
        indicator = self.series.indicator_for(labels)
        if indicator is None:
            self.counts.unmapped_series(series_name(labels), len(samples))
            return
        values = np.array([v for v, _ in samples], dtype=np.float64)
        finite = np.isfinite(values)
        self.counts.skipped += int((~finite).sum())
        if not finite.any():
            return
        times = np.array([t for _, t in samples], dtype=np.int64)[finite] // 1000
        self.sink.add(
            [indicator] * int(finite.sum()),
            times,
            values[finite],
            numbers=np.arange(first, first + len(samples), dtype=np.int64)[finite],
        )


class SamplePlaces(Sequence[str]):
    """Where each sample of a write request is, by its position among all samples:
    `timeseries[i] name{labels} samples[j] at T ms` (named only when a problem needs it)."""

    def __init__(self, decoded: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> None:
        self.decoded = decoded
        self.starts = np.cumsum([0] + [len(samples) for _, samples in decoded], dtype=np.int64)

    def __len__(self) -> int:
        """Number of samples."""
        return int(self.starts[-1])

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        """The place of sample i (counted over every series)."""
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        series = int(np.searchsorted(self.starts, i, side="right")) - 1
        labels, samples = self.decoded[series]
        sample = i - int(self.starts[series])
        stamp = samples[sample][1]
        return f"timeseries[{series}] {series_name(labels)} samples[{sample}] at {stamp} ms"

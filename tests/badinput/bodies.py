"""The bodies of the bad-input corpus, made from their description in a case file.

A body is one of `{text: ..., encoding: ...}` (text in an encoding, UTF-8 unless named),
`{json: ...}` (the value as JSON), `{hex: ...}` (raw bytes) or `{build: NAME, ...}` (one of
the builders below, for what YAML cannot hold: Arrow streams, protobuf, very deep or very large
bodies). The builders are ours; nothing here reads a file.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from typing import Any

import cramjam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

Spec = dict[str, Any]


def _text(spec: Spec) -> bytes:
    text: str = spec["text"]
    return text.encode(spec.get("encoding", "utf-8"))


def _json(spec: Spec) -> bytes:
    return json.dumps(spec["json"], allow_nan=True).encode()


def _table(spec: Spec) -> pa.Table:
    """`columns` ({name: {type, values}}), or `named`: a list of [name, column] (names may
    repeat)."""
    named = spec.get("named") or list(spec["columns"].items())
    return pa.Table.from_arrays(
        [pa.array(column["values"], type=_arrow_type(column["type"])) for _, column in named],
        names=[name for name, _ in named],
    )


def _parquet(spec: Spec) -> bytes:
    """A Parquet file of `columns` (as for `arrow`)."""
    sink = io.BytesIO()
    pq.write_table(_table(spec), sink)
    return sink.getvalue()


def _arrow(spec: Spec) -> bytes:
    """An Arrow IPC stream of `columns` ({name: {type: ..., values: [...]}}), cut at `cut`,
    its bytes at offsets set by `patch` ([[offset, byte], ...]: corrupt metadata or data)."""
    table = _table(spec)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data = bytearray(sink.getvalue())
    for offset, byte in spec.get("patch", []):
        data[offset] = byte
    return bytes(data[: spec["cut"]] if "cut" in spec else data)


ARROW_TYPES: dict[str, Callable[[], pa.DataType]] = {
    "string": pa.string,
    "int64": pa.int64,
    "uint64": pa.uint64,
    "float64": pa.float64,
    "bool": pa.bool_,
    "timestamp": lambda: pa.timestamp("s"),
    "timestamp-utc": lambda: pa.timestamp("s", tz="UTC"),
    "dictionary": lambda: pa.dictionary(pa.int32(), pa.string()),
}


def _arrow_type(name: str) -> pa.DataType:
    return ARROW_TYPES[name]()


def varint(n: int) -> bytes:
    """A protobuf base-128 varint."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def write_request(series: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> bytes:
    """A Prometheus remote-write WriteRequest (prompb), uncompressed: (labels, [(value, ms)])."""
    out = b""
    for labels, samples in series:
        encoded = b"".join(
            field(1, field(1, k.encode()) + field(2, v.encode())) for k, v in labels.items()
        )
        encoded += b"".join(
            field(2, b"\x09" + np.float64(v).tobytes() + b"\x10" + varint(ms & (2**64 - 1)))
            for v, ms in samples
        )
        out += field(1, encoded)
    return out


def _remote_write(spec: Spec) -> bytes:
    """`series`: [{labels: {...}, samples: [[value, ms], ...]}], snappy-compressed unless
    `compress: false`."""
    raw = write_request(
        [(s["labels"], [(float(v), int(ms)) for v, ms in s["samples"]]) for s in spec["series"]]
    )
    if spec.get("compress", True):
        return bytes(cramjam.snappy.compress_raw(raw))
    return raw


def _nested(spec: Spec) -> bytes:
    """`depth` nested JSON arrays (or objects under `key`), inside `wrap` at `{}`."""
    depth: int = spec["depth"]
    key = spec.get("key")
    opening, closing = (f'{{"{key}":', "}") if key else ("[", "]")
    inner = opening * depth + "1" + closing * depth
    wrap: str = spec.get("wrap", "{}")
    return wrap.replace("{}", inner).encode()


def _repeat(spec: Spec) -> bytes:
    """`head` + `times` × `text` + `tail`."""
    head: str = spec.get("head", "")
    tail: str = spec.get("tail", "")
    text: str = spec["text"] * spec["times"]
    return (head + text + tail).encode()


def _gzip(spec: Spec) -> bytes:
    """`text` gzipped (as one member; `members`: a list of texts, one member each), less its
    last `drop` bytes."""
    texts: list[str] = spec.get("members", [spec.get("text", "")])
    data = b"".join(gzip.compress(text.encode(), mtime=0) for text in texts)
    return data[: len(data) - spec.get("drop", 0)]


BUILDERS: dict[str, Callable[[Spec], bytes]] = {
    "arrow": _arrow,
    "parquet": _parquet,
    "remote_write": _remote_write,
    "nested": _nested,
    "repeat": _repeat,
    "gzip": _gzip,
}


def body_of(spec: Spec) -> bytes:
    """The bytes a case's body description stands for."""
    if "build" in spec:
        return BUILDERS[spec["build"]](spec)
    if "text" in spec:
        return _text(spec)
    if "json" in spec:
        return _json(spec)
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    raise ValueError(f"not a body: {spec}")

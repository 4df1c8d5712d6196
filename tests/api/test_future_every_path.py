"""Issue 11, finding 2, on every way observations come in: a time later than the server's clock
plus `TOCSIN_MAX_CLOCK_SKEW_S` is refused with its row named, and nothing of its batch is stored.

The paths: the JSON body (small, and large enough to be decoded as it streams), NDJSON, CSV,
Arrow IPC, Prometheus remote write, InfluxDB line protocol, and the collectors in the server
(MQTT and pulled feeds hand their rows to `SourceIntake.deliver`). `tocsin ingest`, the
Prometheus alert receiver and a restart are in tests/services/test_future_observations.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cramjam
import numpy as np
import pyarrow as pa
import pytest

from tests.api.conftest import Api, T, assert_problem, serve_api, table_counts
from tests.badinput.bodies import write_request
from tocsin.core.errors import InvalidInput
from tocsin.core.sources import SourceKind

CODE = "D11.river_level"
NOW = T + 3_600  # the server's clock in these tests
AHEAD = NOW + 86_400  # a day later than the clock: past the default skew of 300 s
LATER = "is later than the server's clock allows"
SOURCES = {
    "prometheus": [{"indicator": CODE, "match": {"__name__": "level", "station": "D11"}}],
    "influx": [{"indicator": CODE, "match": {"_measurement": "gauge", "station": "D11"}}],
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    with serve_api(url, tmp_path, sources=SOURCES, now=datetime.fromtimestamp(NOW, UTC)) as api:
        yield api


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(n: int) -> bytes:
    rows: list[dict[str, Any]] = [
        {"indicator": CODE, "time": T - 60 * i, "value": 1.0} for i in range(n)
    ]
    rows[-1]["time"] = AHEAD
    return json.dumps({"observations": rows}).encode()


def _ndjson() -> bytes:
    rows = [{"indicator": CODE, "time": t, "value": 1.0} for t in (T, AHEAD)]
    return "\n".join(json.dumps(r) for r in rows).encode()


def _csv() -> bytes:
    return f"indicator,time,value\n{CODE},{T},1\n{CODE},{AHEAD},1\n".encode()


def _arrow() -> bytes:
    table = pa.table({"indicator": [CODE, CODE], "time": [T, AHEAD], "value": [1.0, 1.0]})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _remote_write() -> bytes:
    """A WriteRequest (prompb) with one series of two samples, snappy-compressed."""
    series = {"__name__": "level", "station": "D11"}
    raw = write_request([(series, [(1.0, T * 1000), (1.0, AHEAD * 1000)])])
    return bytes(cramjam.snappy.compress_raw(raw))


def _line_protocol() -> bytes:
    return f"gauge,station=D11 level=1 {T}\ngauge,station=D11 level=1 {AHEAD}\n".encode()


# (path, content type, body, where the refused row is named)
PATHS: list[tuple[str, str, str, bytes, str]] = [
    ("json", "/api/v1/observations", "application/json", _json(2), "observations[1]"),
    ("json-big", "/api/v1/observations", "application/json", _json(6_000), "observations[5999]"),
    ("ndjson", "/api/v1/observations", "application/x-ndjson", _ndjson(), "line 2"),
    ("csv", "/api/v1/observations", "text/csv", _csv(), "line 3"),
    ("arrow", "/api/v1/observations", "application/vnd.apache.arrow.stream", _arrow(), "row 1"),
    (
        "remote-write",
        "/api/v1/write",
        "application/x-protobuf",
        _remote_write(),
        f'timeseries[0] level{{station="D11"}} samples[1] at {AHEAD * 1000} ms',
    ),
    ("line-protocol", "/api/v2/write?precision=s", "text/plain", _line_protocol(), "line 2"),
]


@pytest.mark.parametrize(
    ("path", "media", "body", "where"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS]
)
def test_a_row_from_the_future_is_refused_on_every_write_path(
    served: Api, path: str, media: str, body: bytes, where: str
) -> None:
    before = table_counts(served.container)
    headers = {**served.headers, "Content-Type": media}
    if path.startswith("/api/v1/write"):
        headers |= {"Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"}
    response = served.client.post(path, content=body, headers=headers)
    problem = assert_problem(response, 422)
    [found] = [p for p in problem["problems"] if p["field"] == "time"]
    assert found["reason"].startswith(f"{_iso(AHEAD)} {LATER}")
    assert found["where"] == where
    assert table_counts(served.container) == before


@pytest.mark.parametrize("kind", [SourceKind.MQTT, SourceKind.PULL])
def test_a_collector_row_from_the_future_is_refused_and_counted(
    served: Api, kind: SourceKind
) -> None:
    before = table_counts(served.container)
    intake = served.container.intake
    times = np.array([T, AHEAD], dtype=np.int64)
    with pytest.raises(InvalidInput) as refused:
        intake.deliver(kind, [CODE, CODE], times, np.ones(2))
    [problem] = refused.value.problems
    assert (problem.where, problem.field) == (f"{kind.value}[1]", "time")
    assert problem.reason.startswith(f"{_iso(AHEAD)} {LATER}")
    assert intake.counts[kind].refused == 2
    assert table_counts(served.container) == before
    # a row within the skew is taken
    fine = np.array([NOW + 60], dtype=np.int64)
    assert intake.deliver(kind, [CODE], fine, np.ones(1)).result(timeout=30).stored == 1


def test_the_clock_moves_the_edge(served: Api) -> None:
    """What was refused is taken once the clock has caught up (the skew is from `now`)."""
    served.clock.set(datetime.fromtimestamp(AHEAD, UTC) - timedelta(seconds=300))
    response = served.client.post(
        "/api/v1/observations",
        content=_csv(),
        headers={**served.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text

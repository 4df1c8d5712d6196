"""InfluxDB line protocol at /api/v2/write, written by the real `influxdb-client` library (as
Telegraf and gateways would send it) and by hand from the reference's examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision

from tests.e2e.collector_harness import served_with_sources

T = 1_767_225_600
SOURCES: dict[str, Any] = {
    "influx": [
        {
            "indicator": "D11.river_level",
            "match": {"_measurement": "gauge", "_field": "level", "station": "D 11"},
        },
        {"indicator": "D12.river_level", "match": {"_measurement": "gauge", "station": "D12"}},
    ]
}


@pytest.mark.parametrize("gzip", [False, True])
def test_the_influxdb_client_writes_points(tmp_path: Path, gzip: bool) -> None:
    with (
        served_with_sources(tmp_path, SOURCES) as tocsin,
        InfluxDBClient(
            url=tocsin.url, token=tocsin.token, org="tocsin", enable_gzip=gzip
        ) as client,
    ):
        points = [
            Point("gauge").tag("station", "D 11").field("level", 1.25).time(T, WritePrecision.S),
            Point("gauge").tag("station", "D 11").field("level", 2).time(T + 60, WritePrecision.S),
            Point("gauge").tag("station", "D12").field("level", 3.5).time(T, WritePrecision.S),
            Point("gauge").tag("station", "D12").field("ok", True).time(T, WritePrecision.S),
            Point("weather").tag("station", "D11").field("rain", 0.4).time(T, WritePrecision.S),
        ]
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket="b", record=points, write_precision=WritePrecision.S
        )
        assert tocsin.series("D11.river_level") == ([T, T + 60], [1.25, 2.0])
        assert tocsin.series("D12.river_level") == ([T], [3.5])
        influx = tocsin.sources()["influx"]
        assert (influx["received"], influx["stored"], influx["skipped"]) == (5, 3, 1)
        assert list(influx["unmapped_series"]) == [
            'weather{_field="rain",_measurement="weather",station="D11"}'
        ]


def test_reference_examples_and_escapes(tmp_path: Path) -> None:
    lines = "\n".join(
        [
            "# a comment, then the reference's escaping examples",
            f"gauge,station=D\\ 11 level=4.5 {T * 1000}",
            f'gauge,station=D12 level=7i,note="a \\"quoted\\" text, with comma" {T * 1000}',
            f"gauge,station=D12 level=8u {(T + 60) * 1000}",
            f"other,_measurement=gauge,station=D12 level=9 {(T + 120) * 1000}",  # not gauge's
            "",
        ]
    )
    with served_with_sources(tmp_path, SOURCES) as tocsin:
        response = httpx.post(
            f"{tocsin.url}/api/v2/write?org=o&bucket=b&precision=ms",
            content=lines.encode(),
            headers={"Authorization": f"Token {tocsin.token}"},
        )
        assert response.status_code == 204, response.text
        assert tocsin.series("D11.river_level") == ([T], [4.5])
        assert tocsin.series("D12.river_level") == ([T, T + 60], [7.0, 8.0])
        assert (
            'other{_field="level",_measurement="other",station="D12"}'
            in (tocsin.sources()["influx"]["unmapped_series"])
        )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("gauge,station=D12", ("line 2", "", "not line protocol")),
        ("gauge,station=D12 level=abc 1", ("line 2", "level", "not a field value: abc")),
        ("gauge,station=D12 level=-3u 1", ("line 2", "level", "not an unsigned integer")),
        ("gauge,station=D12 level=1 99999999999999999999999", ("line 2", "time", "epoch")),
    ],
)
def test_a_bad_line_refuses_the_write_naming_it(
    tmp_path: Path, line: str, expected: tuple[str, str, str]
) -> None:
    body = f"gauge,station=D12 level=1 {T}\n{line}\n".encode()
    with served_with_sources(tmp_path, SOURCES) as tocsin:
        response = httpx.post(
            f"{tocsin.url}/api/v2/write?precision=s", content=body, headers=tocsin.headers
        )
        assert response.status_code == 422, response.text
        (problem,) = response.json()["problems"]
        assert (problem["where"], problem["field"]) == expected[:2]
        assert expected[2] in problem["reason"]
        assert tocsin.series("D12.river_level") == ([], [])
        bad_precision = httpx.post(
            f"{tocsin.url}/api/v2/write?precision=h", content=body, headers=tocsin.headers
        )
        assert bad_precision.status_code == 422
        assert bad_precision.json()["problems"][0]["field"] == "precision"

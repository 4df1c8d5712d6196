"""POST /api/v1/observations in every body format: JSON (streamed when large), NDJSON, CSV and
Arrow IPC; each all or nothing, with problems naming the row and the field."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from tests.api.conftest import Api, T, assert_problem, obs, table_counts

URL = "/api/v1/observations"
CODE = "D11.river_level"


def _stored(api: Api) -> tuple[list[int], list[float]]:
    series = api.client.get(f"/api/v1/indicators/{CODE}/observations").json()
    return series["times"], series["values"]


def _post(api: Api, body: bytes | Iterator[bytes], media: str) -> Any:
    return api.client.post(URL, content=body, headers={**api.headers, "Content-Type": media})


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _arrow(columns: dict[str, pa.Array]) -> bytes:
    table = pa.table(columns)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=2):
            writer.write_batch(batch)
    return sink.getvalue()


def test_a_large_json_body_is_decoded_as_it_arrives(api: Api) -> None:
    rows = [obs(CODE, m, m / 100) for m in range(6_000)]  # about 400 kB: streamed
    api.clock.set(datetime.fromtimestamp(T + 60 * 6_000, UTC))  # the rows are not ahead of it
    text = json.dumps({"observations": rows}).encode()
    response = _post(api, _chunks(text, 10_000), "application/json")
    assert response.status_code == 202, response.text
    assert response.json()["received"] == 6_000
    times, values = _stored(api)
    assert times == [T + 60 * m for m in range(6_000)]
    assert values[:3] == [0.0, 0.01, 0.02]


def test_a_bad_row_deep_in_a_streamed_json_body_is_named_and_nothing_is_stored(api: Api) -> None:
    rows: list[dict[str, Any]] = [obs(CODE, m, 1.0) for m in range(6_000)]
    rows[4_321] = {**rows[4_321], "value": "high"}
    rows[5_999] = {**rows[5_999], "time": "2026-01-01T00:00:00"}
    before = table_counts(api.container)
    text = json.dumps({"observations": rows}).encode()
    response = _post(api, _chunks(text, 7_777), "application/json")
    assert_problem(
        response,
        422,
        [
            ("observations[4321]", "value", "Input should be a valid number"),
            ("observations[5999]", "time", "RFC 3339 date-time with an offset"),
        ],
    )
    assert table_counts(api.container) == before


def test_ndjson_lines_are_observations(api: Api) -> None:
    lines = [json.dumps(obs(CODE, m, 2.0)) for m in range(3)]
    body = ("\n".join(lines) + "\n\n").encode("utf-8-sig")  # a byte-order mark, as editors save
    response = _post(api, body, "application/x-ndjson")
    assert response.status_code == 202, response.text
    assert _stored(api) == ([T, T + 60, T + 120], [2.0, 2.0, 2.0])


def test_ndjson_problems_name_the_line(api: Api) -> None:
    before = table_counts(api.container)
    body = "\n".join(
        [
            json.dumps(obs(CODE, 0, 1.0)),
            json.dumps({**obs(CODE, 1, 1.0), "value": True}),
            "{not json",
            json.dumps(obs("nope", 3, 1.0)),
        ]
    ).encode()
    response = _post(api, body, "application/x-ndjson")
    assert_problem(
        response,
        422,
        [
            ("line 2", "value", "Input should be a valid number"),
            ("line 3", "", "not JSON"),
        ],
    )
    assert table_counts(api.container) == before
    unknown = _post(api, json.dumps(obs("nope", 3, 1.0)).encode(), "application/x-ndjson")
    assert_problem(unknown, 422, [("line 1", "indicator", "unknown indicator 'nope'")])


def test_csv_with_epoch_and_rfc3339_times(api: Api) -> None:
    body = (
        "time,indicator,value\n"
        f"{T},{CODE},1.5\n"
        f"2026-01-01T00:01:00Z,{CODE},2\n"
        f"2026-01-01T02:02:00+02:00,{CODE},-3.25\n"
    ).encode()
    response = _post(api, _chunks(body, 7), "text/csv; charset=utf-8")
    assert response.status_code == 202, response.text
    assert _stored(api) == ([T, T + 60, T + 120], [1.5, 2.0, -3.25])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"{CODE},2026-01-01T00:00:00,1", ("line 3", "time", "RFC 3339 date-time with an offset")),
        (f"{CODE},99999999999999,1", ("line 3", "time", "integer epoch seconds")),
        (f"{CODE},{T + 60},true", ("line 3", "value", "not a number: 'true'")),
        (f",{T + 60},1", ("line 3", "indicator", "empty")),
        (f"{CODE},{T + 60}", ("line 3", "", "expected 3 fields, found 2")),
        (f"nope,{T + 60},1", ("line 3", "indicator", "unknown indicator 'nope'")),
    ],
)
def test_a_bad_csv_line_is_named(api: Api, line: str, expected: tuple[str, str, str]) -> None:
    before = table_counts(api.container)
    body = f"indicator,time,value\n{CODE},{T},1\n{line}\n".encode()
    assert_problem(_post(api, body, "text/csv"), 422, [expected])
    assert table_counts(api.container) == before


def test_a_csv_without_a_needed_column_is_refused(api: Api) -> None:
    response = _post(api, f"indicator,when,value\n{CODE},{T},1\n".encode(), "text/csv")
    assert_problem(response, 422, [("line 1", "time", "missing column")])


def test_an_arrow_stream_is_read_message_by_message(api: Api) -> None:
    body = _arrow(
        {
            "indicator": pa.array([CODE] * 5),
            "time": pa.array([T + 60 * m for m in range(5)], type=pa.int64()),
            "value": pa.array([0.5, 1.0, 1.5, 2.0, 2.5]),
        }
    )
    response = _post(api, _chunks(body, 100), "application/vnd.apache.arrow.stream")
    assert response.status_code == 202, response.text
    assert _stored(api) == ([T + 60 * m for m in range(5)], [0.5, 1.0, 1.5, 2.0, 2.5])


def test_arrow_timestamps_need_a_time_zone_and_nulls_are_named(api: Api) -> None:
    before = table_counts(api.container)
    naive = _arrow(
        {
            "indicator": pa.array([CODE]),
            "time": pa.array([T], type=pa.timestamp("s")),
            "value": pa.array([1.0]),
        }
    )
    assert_problem(
        _post(api, naive, "application/vnd.apache.arrow.stream"),
        422,
        [("body", "time", "expected integer epoch seconds or a timestamp with a time zone")],
    )
    nulls = _arrow(
        {
            "indicator": pa.array([CODE, CODE, CODE]),
            "time": pa.array([T, T + 60, T + 120], type=pa.timestamp("s", tz="UTC")),
            "value": pa.array([1.0, None, 2.0]),
        }
    )
    response = _post(api, nulls, "application/vnd.apache.arrow.stream")
    assert_problem(response, 422, [("row 1", "value", "empty")])
    assert_problem(
        _post(api, b"not arrow at all", "application/vnd.apache.arrow.stream"),
        422,
        [("body", "", "not an Arrow IPC stream")],
    )
    assert table_counts(api.container) == before


def test_another_content_type_is_415(api: Api) -> None:
    response = _post(api, b"<xml/>", "application/xml")
    body = assert_problem(response, 415)
    assert "application/x-ndjson" in body["problems"][0]["reason"]


def test_gzip_members_one_after_another_are_one_body(api: Api) -> None:
    """`cat a.gz b.gz` is one gzip body (RFC 1952); the second member's rows were dropped."""
    first = gzip.compress(f"indicator,time,value\n{CODE},{T},1.5\n".encode())
    second = gzip.compress(f"{CODE},{T + 60},2.5\n".encode())
    response = api.client.post(
        URL,
        content=first + second,
        headers={**api.headers, "Content-Type": "text/csv", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["received"] == 2
    assert _stored(api) == ([T, T + 60], [1.5, 2.5])


@pytest.mark.parametrize(
    "header", [" indicator , time , value ", '"indicator","time","value"', "time,value,indicator"]
)
def test_a_csv_header_is_read_as_csv(api: Api, header: str) -> None:
    """Names with spaces around them passed the header check but not pyarrow's: a 500."""
    row = {"indicator": CODE, "time": str(T), "value": "2.5"}
    names = [n.strip().strip('"') for n in header.split(",")]
    body = f"{header}\r\n{','.join(row[n] for n in names)}\r\n".encode()
    response = _post(api, body, "text/csv")
    assert response.status_code == 202, response.text
    assert _stored(api) == ([T], [2.5])

"""InfluxDB 1.x's write, `POST /write`, as Telegraf's `outputs.influxdb` (v1) sends it, with the
v2 endpoint's parser and mapping; `GET`/`HEAD /ping`. Telegraf is in neither Debian nor PyPI:
its request is built here in the exact shape its source sends (plugins/outputs/influxdb/http.go:
`POST /write?db=telegraf`, `Content-Type: text/plain; charset=utf-8`, `User-Agent: Telegraf/…`,
Basic credentials, gzip when configured, nanosecond timestamps, no `precision`).
`tests/e2e/test_influx_v1.py` writes with the real `influx` shell (Debian's influxdb-client)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, T, serve_api
from tocsin.api.app import create_app

CODE = "D11.river_level"
SOURCES = {"influx": [{"indicator": CODE, "match": {"_measurement": "gauge", "station": "D11"}}]}


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    with serve_api(sqlite_url, tmp_path, sources=SOURCES) as served:
        yield served


def _token(api: Api) -> str:
    return api.headers["Authorization"].split(" ", 1)[1]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _series(api: Api) -> tuple[list[int], list[float]]:
    got = api.client.get(f"/api/v1/indicators/{CODE}/observations").json()
    return got["times"], got["values"]


def test_telegrafs_write_is_stored(api: Api) -> None:
    # Telegraf's influx serializer: tags sorted, then fields, then nanoseconds
    body = (
        f"gauge,host=gw1,station=D11 level=2.5,ok=true {T}000000000\n"
        f"gauge,host=gw1,station=D11 level=2.75 {T + 60}000000000\n"
        f"cpu,cpu=cpu-total,host=gw1 usage_idle=97.5 {T}000000000\n"
    ).encode()
    headers = {
        "Authorization": _basic("telegraf", _token(api)),
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Encoding": "gzip",
        "User-Agent": "Telegraf/1.30.0 Go/1.22.1",
    }
    response = api.anonymous.post(
        "/write?db=telegraf", content=gzip.compress(body), headers=headers
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert _series(api) == ([T, T + 60], [2.5, 2.75])
    influx = {s["kind"]: s for s in api.client.get("/api/v1/sources").json()}["influx"]
    assert (influx["received"], influx["stored"], influx["skipped"], influx["unmapped"]) == (
        4,
        2,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("precision", "stamp"),
    [
        ("", f"{T}000000000"),  # none given: nanoseconds, as InfluxDB 1.x
        ("n", f"{T}000000000"),
        ("ns", f"{T}000000000"),
        ("u", f"{T}000000"),
        ("ms", f"{T}000"),
        ("s", f"{T}"),
        ("m", f"{T // 60}"),
        ("h", f"{T // 3600}"),
    ],
)
def test_every_precision_of_influxdb_1(api: Api, precision: str, stamp: str) -> None:
    url = f"/write?db=x&rp=autogen&consistency=one&precision={precision}"
    body = f"gauge,station=D11 level=1.5 {stamp}"
    response = api.client.post(url, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 204, response.text
    assert _series(api) == ([T], [1.5])  # T is a whole hour


def test_the_token_in_every_way_influxdb_1_clients_send_it(api: Api) -> None:
    token = _token(api)
    line = "gauge,station=D11 level={} {}"
    ways: list[tuple[str, dict[str, str]]] = [
        (f"/write?db=x&u=telegraf&p={token}&precision=s", {}),  # 1.x's query credentials
        ("/write?db=x&precision=s", {"Authorization": _basic("any", token)}),
        ("/write?db=x&precision=s", {"Authorization": f"Token {token}"}),
        ("/write?db=x&precision=s", {"Authorization": f"Bearer {token}"}),
    ]
    for i, (url, headers) in enumerate(ways):
        body = line.format(i, T + 60 * i)
        response = api.anonymous.post(url, content=body, headers=headers)
        assert response.status_code == 204, (url, response.text)
    assert _series(api)[1] == [0.0, 1.0, 2.0, 3.0]
    # a wrong or missing password: 401, with 1.x's `error` member (Telegraf logs it)
    for url, headers in [
        ("/write?db=x&u=telegraf&p=wrong", {}),
        ("/write?db=x", {"Authorization": _basic("telegraf", "wrong")}),
        ("/write?db=x", {"Authorization": "Basic !!not-base64"}),
        ("/write?db=x&u=telegraf", {}),
        (f"/write?db=x&p={token}", {"Authorization": "Basic " + base64.b64encode(b"x").decode()}),
    ]:
        refused = api.anonymous.post(url, content=line.format(9, T), headers=headers)
        assert refused.status_code == 401, (url, headers)
        assert refused.json()["error"] == refused.json()["detail"]
    # the query's password is taken on /write only: elsewhere it is no credential
    other = api.anonymous.post(f"/api/v2/write?p={token}", content=line.format(9, T))
    assert other.status_code == 401


def test_any_content_type_is_line_protocol(api: Api) -> None:
    # influxdb-python sends application/octet-stream, the influx shell an empty one
    for i, media in enumerate(["application/octet-stream", "", "application/json"]):
        body = f"gauge,station=D11 level={i} {T + 60 * i}"
        response = api.client.post(
            "/write?db=x&precision=s", content=body, headers={"Content-Type": media}
        )
        assert response.status_code == 204, (media, response.text)
    assert _series(api)[1] == [0.0, 1.0, 2.0]


def test_a_bad_write_names_the_line_in_1xs_error_member(api: Api) -> None:
    body = f"gauge,station=D11 level=1 {T}\ngauge,station=D11 level= {T}\n"
    response = api.client.post("/write?db=x&precision=s", content=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["problems"] == [
        {
            "where": "line 2",
            "field": "",
            "reason": "not line protocol: measurement[,tags] fields [time]",
        }
    ]
    assert problem["error"] == "line 2: not line protocol: measurement[,tags] fields [time]"
    assert _series(api) == ([], [])
    good = f"gauge,station=D11 level=1 {T}"
    unknown = api.client.post("/write?db=x&precision=fortnight", content=good)
    assert unknown.json()["error"] == (
        "body precision: 'fortnight' is not one of n, ns, u, us, ms, s, m, h"
    )
    # the v2 endpoint keeps its own precisions and its own Problem body
    v2 = api.client.post(
        "/api/v2/write?precision=h", content=body, headers={"Content-Type": "text/plain"}
    )
    assert v2.status_code == 422
    assert "error" not in v2.json()


def test_ping_answers_204_as_influxdb_to_anyone(api: Api) -> None:
    for method in ("GET", "HEAD"):
        response = api.anonymous.request(method, "/ping")
        assert response.status_code == 204
        assert response.headers["X-Influxdb-Version"] == "1.8.10"
        assert response.content == b""


def test_too_many_writes_at_once_is_503_on_write(sqlite_url: str, tmp_path: Path) -> None:
    """Telegraf's 1.x output drops a batch answered 4xx and keeps one answered 5xx: a server too
    busy answers /write 503 (with Retry-After), where /api/v2/write answers 429."""
    with serve_api(sqlite_url, tmp_path, sources=SOURCES, ingest_max_inflight=1) as api:
        app = create_app(api.container)
        auth = [(b"authorization", api.headers["Authorization"].encode())]

        async def call(path: str, body: bytes, gate: asyncio.Event | None = None) -> Any:
            sent: list[dict[str, Any]] = []
            asked = asyncio.Event()

            async def receive() -> dict[str, Any]:
                asked.set()
                if gate is not None:
                    await gate.wait()
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(dict(message))

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "root_path": "",
                "query_string": b"precision=s",
                "headers": [*auth, (b"content-type", b"text/plain")],
                "client": ("127.0.0.1", 5000),
                "server": ("127.0.0.1", 80),
            }
            task = asyncio.ensure_future(app(scope, receive, send))
            return task, asked, sent

        async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
            gate = asyncio.Event()
            line = f"gauge,station=D11 level=1 {T}".encode()
            slow, asked, _ = await call("/write", line, gate)
            await asked.wait()  # the first write is in flight
            answers = []
            for path in ("/write", "/api/v2/write"):
                task, _, sent = await call(path, line)
                await task
                start = next(m for m in sent if m["type"] == "http.response.start")
                body = next(m for m in sent if m["type"] == "http.response.body")["body"]
                headers = {k.decode(): v.decode() for k, v in start["headers"]}
                answers.append((start["status"], headers, body))
            gate.set()
            await slow
            return answers

        (v1, v1_headers, v1_body), (v2, _, _) = asyncio.run(scenario())
        assert (v1, v2) == (503, 429)
        assert v1_headers["retry-after"] == "1"
        assert json.loads(v1_body)["error"].startswith("too many requests")

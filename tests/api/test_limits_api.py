"""The body guard: authentication before the body is read; 413 over the size limit, declared
or streamed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, obs, serve_api, table_counts
from tocsin.api.app import create_app
from tocsin.core.users import Role

LIMIT = 4_096
URL = "/api/v1/observations"


@pytest.fixture
def small(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    """The API with a 4 KiB body limit."""
    with serve_api(sqlite_url, tmp_path, max_body_bytes=LIMIT) as api:
        yield api


def _batch(n: int) -> dict[str, Any]:
    return {"observations": [obs("D11.river_level", -m, 1.0) for m in range(n)]}  # not ahead


def test_a_body_within_the_limit_is_accepted(small: Api) -> None:
    body = _batch(40)
    assert len(json.dumps(body)) < LIMIT
    assert small.client.post(URL, json=body, headers=small.headers).status_code == 202


def test_a_declared_length_over_the_limit_is_413_and_nothing_is_stored(small: Api) -> None:
    before = table_counts(small.container)
    response = small.client.post(URL, json=_batch(200), headers=small.headers)
    body = assert_problem(response, 413, [("body", "", "larger than the limit of 4,096 bytes")])
    assert "TOCSIN_MAX_BODY_BYTES" in body["detail"]
    assert table_counts(small.container) == before


def test_a_streamed_body_without_a_length_is_counted_and_cut_at_the_limit(small: Api) -> None:
    before = table_counts(small.container)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        text = json.dumps(_batch(400)).encode()
        for i in range(0, len(text), 1_000):
            sent.append(i)
            yield text[i : i + 1_000]

    headers = {**small.headers, "Content-Type": "application/json"}
    response = small.client.post(URL, content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413, [("body", "", "larger than the limit")])
    assert table_counts(small.container) == before


def _call(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Call the ASGI app directly; return the status, the body and how many chunks it read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    worker = threading.Thread(target=lambda: asyncio.run(app(scope, receive, send)))
    worker.start()
    worker.join()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


def _scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


def test_no_byte_of_the_body_is_read_before_the_token_is_checked(api: Api) -> None:
    app = create_app(api.container)
    huge = [b"x" * 1_000_000] * 62  # 62 MB, declared
    headers = {"Content-Type": "application/json", "Content-Length": str(62_000_000)}
    status, body, read = _call(app, _scope(headers), huge)
    assert (status, read) == (401, 0)
    assert json.loads(body)["detail"] == "a bearer token is required (Authorization: Bearer TOKEN)"
    bad = {**headers, "Authorization": "Bearer forged"}
    assert _call(app, _scope(bad), huge)[::2] == (401, 0)
    # a valid token: over the default 16 MiB, refused on its declared length, still unread
    assert _call(app, _scope({**headers, **api.headers}), huge)[::2] == (413, 0)


def test_a_role_that_may_not_write_is_refused_after_a_bounded_read(api: Api) -> None:
    app = create_app(api.container)
    member = api.token_for("uma", Role.UNIT_MEMBER)
    text = json.dumps({"observations": [obs("D11.river_level", 0, 1.0)]}).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(text)), **member}
    status, body, _ = _call(app, _scope(headers), [text])
    assert status == 403
    assert json.loads(body)["detail"] == "role unit_member may not ingest"


def test_a_malformed_length_is_a_400_problem(api: Api) -> None:
    app = create_app(api.container)
    headers = {**api.headers, "Content-Type": "application/json", "Content-Length": "lots"}
    status, body, read = _call(app, _scope(headers), [b"{}"])
    assert (status, read) == (400, 0)
    assert json.loads(body)["problems"][0]["field"] == "content-length"


def test_the_default_limit_is_16_mib(api: Api) -> None:
    assert api.container.settings.max_body_bytes == 16 * 1024 * 1024

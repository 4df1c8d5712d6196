"""The lanes ahead of FastAPI's stack: an unexpected error is still a problem (500) naming an
id, never a traceback; the requests a lane does not take reach the application."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, obs, table_counts
from tocsin.api.ingest_gate import IngestGate
from tocsin.api.lanes import Lane, posts_to
from tocsin.api.limits import Message, Receive, Scope, Send

PATHS = frozenset({"/api/v1/observations"})


def _scope(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}


def _run(lane: Lane, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(lane(scope, receive, send))
    return sent


def test_a_lane_takes_posts_to_its_paths_only() -> None:
    takes = posts_to(PATHS)
    assert takes(_scope("POST", "/api/v1/observations"))
    assert not takes(_scope("GET", "/api/v1/observations"))
    assert not takes(_scope("POST", "/api/v1/observations/"))
    assert not takes({"type": "websocket", "path": "/api/v1/observations"})


def test_an_error_before_the_answer_is_a_500_problem_naming_an_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("disk on fire")

    sent = _run(Lane(broken, takes=posts_to(PATHS)), _scope("POST", "/api/v1/observations"))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 500
    body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert "internal error" in body
    assert "disk on fire" not in body
    assert "Traceback" not in body
    assert "disk on fire" in caplog.text  # the log has it, under the id the answer names
    ident = body.split("internal error ")[1].split(":")[0]
    assert ident in caplog.text


def test_an_error_after_the_answer_began_is_raised_for_the_server_to_close_the_connection() -> None:
    async def half(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-answer")

    with pytest.raises(RuntimeError, match="mid-answer"):
        _run(Lane(half, takes=posts_to(PATHS)), _scope("POST", "/api/v1/observations"))


def test_an_unexpected_failure_in_the_write_lane_stores_nothing_and_shows_no_traceback(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure outside the gate's own handling (choosing the body's format) is caught by
    the lane."""

    def broken(*_: Any) -> Any:
        raise RuntimeError("format table on fire")

    monkeypatch.setattr(IngestGate, "_format", broken)
    before = table_counts(api.container)
    body = {"observations": [obs("D11.river_level", 0, 1.0)]}
    answer = api.client.post("/api/v1/observations", json=body)
    problem = assert_problem(answer, 500, [])
    assert "internal error" in problem["detail"]
    assert "on fire" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"  # through the security headers
    assert "format table on fire" in caplog.text
    assert table_counts(api.container) == before


def test_what_the_lanes_do_not_take_reaches_the_application(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", 0, 1.0)]}
    assert api.client.post("/api/v1/observations", json=body).status_code == 202  # the lane
    assert api.client.get("/api/v1/indicators/D11.river_level/observations").is_success
    assert api.client.put("/api/v1/observations", json=body).status_code == 405

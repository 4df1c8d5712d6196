"""Back-pressure: too many writes at once are answered 429, a full commit queue 503, both with
Retry-After and nothing stored; the writes already accepted are stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.api.conftest import Api, obs, serve_api
from tests.api.test_limits_api import _scope
from tocsin.api.app import create_app

URL = "/api/v1/observations"
Receive = Callable[[], Awaitable[dict[str, Any]]]


def _body(minute: int) -> bytes:
    return json.dumps({"observations": [obs("D11.river_level", minute, 1.0)]}).encode()


async def _call(app: Any, headers: dict[str, str], receive: Receive) -> tuple[int, dict[str, str]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope({**headers, "Content-Type": "application/json"}), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def _once(
    body: bytes, gate: asyncio.Event | None = None, asked: asyncio.Event | None = None
) -> Receive:
    async def receive() -> dict[str, Any]:
        if asked is not None:
            asked.set()  # the write is in flight: the gate reads its body
        if gate is not None:
            await gate.wait()
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _count(api: Api) -> int:
    with api.container.store.transaction() as tx:
        return tx.observations.count()


def test_more_writes_at_once_than_allowed_are_429(sqlite_url: str, tmp_path: Path) -> None:
    with serve_api(sqlite_url, tmp_path, ingest_max_inflight=1) as api:
        app = create_app(api.container)

        async def scenario() -> list[tuple[int, dict[str, str]]]:
            gate, asked = asyncio.Event(), asyncio.Event()
            slow = asyncio.ensure_future(_call(app, api.headers, _once(_body(0), gate, asked)))
            await asked.wait()  # the first write is in flight (authenticated), its body not sent
            second = await _call(app, api.headers, _once(_body(1)))
            gate.set()
            return [await slow, second]

        first, second = asyncio.run(scenario())
        assert first[0] == 202
        assert second[0] == 429
        assert second[1]["retry-after"] == "1"
        assert _count(api) == 1


def test_a_full_commit_queue_is_503_with_retry_after(sqlite_url: str, tmp_path: Path) -> None:
    with serve_api(sqlite_url, tmp_path, ingest_queue_rows=1) as api:
        app = create_app(api.container)
        committer = api.container.committer

        async def scenario() -> list[tuple[int, dict[str, str]]]:
            taken = asyncio.ensure_future(_call(app, api.headers, _once(_body(0))))
            # taken by the committer, which then waits for the lock the test holds
            while committer._thread is None or committer.queued_rows:
                await asyncio.sleep(0)
            queued = asyncio.ensure_future(_call(app, api.headers, _once(_body(1))))
            while committer.queued_rows == 0:
                await asyncio.sleep(0)
            refused = await _call(app, api.headers, _once(_body(2)))
            api.container.ingest._lock.release()
            return [await taken, await queued, refused]

        api.container.ingest._lock.acquire()
        statuses = asyncio.run(scenario())
        assert [s for s, _ in statuses] == [202, 202, 503]
        assert statuses[2][1]["retry-after"] == "1"
        assert _count(api) == 2

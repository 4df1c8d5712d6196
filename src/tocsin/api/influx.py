"""What InfluxDB 1.x clients need around the write itself (`POST /write`, `write_routes.py`):

- `GET` and `HEAD /ping` answer 204 with `X-Influxdb-Version`, as InfluxDB does: the `influx`
  shell and other 1.x clients ask it before they write (public, as InfluxDB's: it tells only
  that the server is up, like `/healthz`);
- `ErrorMember` gives every error of `/write` InfluxDB's `error` member beside the Problem's
  `detail` and `problems`: Telegraf's 1.x output logs that string (and nothing else of the
  body) when it drops a batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from fastapi import APIRouter, Response

from tocsin import __version__
from tocsin.api.asgi import ASGIApp, Message, Receive, Scope, Send

INFLUX_VERSION = "1.8.10"  # the 1.x API it answers as (clients read it as a version)
MAX_NAMED = 10  # problems named in `error`


def error_text(body: object) -> str:
    """The `error` of a Problem body: where and why of each problem, or its detail."""
    if not isinstance(body, dict):
        return ""
    detail = str(body.get("detail", ""))
    problems = body.get("problems") or []
    named = [
        " ".join(str(p.get(k, "")) for k in ("where", "field") if p.get(k)) + f": {p['reason']}"
        for p in problems[:MAX_NAMED]
        if isinstance(p, dict) and "reason" in p
    ]
    more = f"; and {len(problems) - MAX_NAMED} more" if len(problems) > MAX_NAMED else ""
    return f"{'; '.join(named)}{more}" if named else detail


class ErrorMember:
    """Adds InfluxDB's `error` member to the JSON error bodies of requests to `paths`."""

    def __init__(self, app: ASGIApp, *, paths: Collection[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        held: Message | None = None

        async def with_member(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held = message  # sent with the body, its length changed
                return
            if held is not None and message["type"] == "http.response.body":
                body = _with_error(bytes(message.get("body", b"")))
                headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                start, held = {**held, "headers": headers}, None
                await send(start)
                await send({**message, "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, with_member)


def _with_error(body: bytes) -> bytes:
    try:
        problem = json.loads(body)
    except ValueError:
        return body
    if not isinstance(problem, dict) or "error" in problem:
        return body
    problem["error"] = error_text(problem)
    return json.dumps(problem, separators=(",", ":")).encode()


def _pong() -> Response:
    headers = {"X-Influxdb-Version": INFLUX_VERSION, "X-Tocsin-Version": __version__}
    return Response(status_code=204, headers=headers)


def router() -> APIRouter:
    """InfluxDB 1.x's ping."""
    api = APIRouter(tags=["influx"])

    ping_answer: dict[str, Any] = {
        "status_code": 204,
        "response_class": Response,
        "responses": {204: {"description": "The server is up (InfluxDB 1.x's ping)."}},
    }

    @api.get("/ping", **ping_answer)
    async def ping() -> Response:
        """InfluxDB 1.x's ping (public): 204 with `X-Influxdb-Version`, as InfluxDB answers;
        1.x clients (the `influx` shell) ask it before they write to `/write`."""
        return _pong()

    @api.head("/ping", **ping_answer)
    async def ping_head() -> Response:
        """InfluxDB 1.x's ping, asked with HEAD."""
        return _pong()

    return api

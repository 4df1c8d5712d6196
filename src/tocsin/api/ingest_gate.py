"""The ingest gate: the lean ASGI path of every observation write (`POST /api/v1/observations`
and the collectors' endpoints), in front of the FastAPI application.

For each request, in this order: at most `max_inflight` writes at once (else 429 with
`Retry-After`); the bearer token is checked before a byte of the body is read (401), then the
role (403); a declared length over the limit is refused unread (413); the Content-Type chooses
the body format (415 for another). The body is then decoded as it arrives, chunk by chunk, and
cut at the limit (413). A body with any problem is answered 422 naming each row and field, and
nothing of it is stored. A valid one is handed to the group committer and answered 202 only
after the transaction that stores it has committed; when the committer's queue is full, 503 with
`Retry-After`. The event loop never waits on the database: the token check runs in the thread
pool, and commits on the committer's thread. A token found valid is trusted for
`TOKEN_TRUST_S` seconds without asking the database again (so a revoked token may still write
for that long); a token found invalid is asked about every time.

Everything that is not such a write goes on to the application unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.auth import USER_KEY, token_of
from tocsin.api.limits import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    authenticate_scope,
    declared_too_large,
    header,
    too_large,
)
from tocsin.api.problems import error_response, problem_response
from tocsin.api.rows import RowSink
from tocsin.bootstrap import Container
from tocsin.core.errors import Problem, TocsinError
from tocsin.core.users import Permission, User
from tocsin.services.ingest import RawObservations

log = logging.getLogger(__name__)

OFF_LOOP_ROWS = 50_000  # larger batches are mapped to indicator ids in a worker thread
TOKEN_TRUST_S = 1.0
TOKENS_KEPT = 1_024


class BodyDecoder(Protocol):
    """A body format, fed the body chunk by chunk."""

    def feed(self, data: bytes) -> None:
        """Take the next chunk."""

    def finish(self) -> None:
        """The body is complete."""


@dataclass(frozen=True)
class BodyFormat:
    """How one Content-Type is decoded: rows named by `form`, decoded by `decoder(sink)`."""

    form: str
    decoder: Callable[[RowSink], BodyDecoder]


@dataclass(frozen=True)
class Route:
    """A write endpoint: its body formats by media type, and how a decoded body is stored."""

    formats: dict[str, BodyFormat]
    default: str | None = None  # the media type assumed when none is given
    answer: Callable[[int, int, int], dict[str, object]] | None = None
    ok_status: int = 202


def _ingest_answer(received: int, evaluated: int, changed: int) -> dict[str, object]:
    return {"received": received, "evaluated": evaluated, "warnings_changed": changed}


class IngestGate:
    """The ASGI middleware serving the write routes in `routes`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        container: Container,
        routes: dict[str, Route],
        max_body_bytes: int,
        max_inflight: int,
    ) -> None:
        self.app = app
        self.container = container
        self.routes = routes
        self.max_body_bytes = max_body_bytes
        self.max_inflight = max_inflight
        self.inflight = 0
        self.tokens: dict[str, tuple[User, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight:
            await self._busy(scope, receive, send)
            return
        self.inflight += 1
        try:
            await self._write(route, scope, receive, send)
        finally:
            self.inflight -= 1

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        reason = f"{self.inflight} writes are being served; try again in 1 s"
        response = problem_response(429, f"too many requests: {reason}", [])
        response.headers["Retry-After"] = "1"
        await response(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> JSONResponse | None:
        """The token's user (trusted for TOKEN_TRUST_S once found), or the 401 response."""
        token = token_of(header(scope, b"authorization"))
        now = time.monotonic()
        known = self.tokens.get(token) if token else None
        if known is not None and known[1] > now:
            scope[USER_KEY] = known[0]
            return None
        refused = await authenticate_scope(self.container, scope)
        if refused is None and token:
            if len(self.tokens) >= TOKENS_KEPT:
                self.tokens.clear()
            self.tokens[token] = (scope[USER_KEY], now + TOKEN_TRUST_S)
        return refused

    async def _write(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        refused = await self._authenticate(scope)
        if refused is None:
            refused = self._forbidden(scope) or declared_too_large(scope, self.max_body_bytes)
        chosen = None
        if refused is None:
            chosen = self._format(route, scope)
            refused = chosen if isinstance(chosen, JSONResponse) else None
        if refused is not None or not isinstance(chosen, BodyFormat):
            await (refused or too_large(self.max_body_bytes))(scope, receive, send)
            return
        try:
            status, body = await self._store(route, chosen, receive)
        except _Disconnected:
            return  # nobody to answer; nothing was stored
        except _TooLarge:
            await too_large(self.max_body_bytes)(scope, receive, send)
            return
        except TocsinError as err:
            await error_response(err)(scope, receive, send)
            return
        except Exception as err:
            ident = uuid.uuid4().hex[:12]
            log.error("unexpected error %s storing a write", ident, exc_info=err)
            await problem_response(500, f"internal error {ident}: the server logged it")(
                scope, receive, send
            )
            return
        await _send_json(send, status, body)

    def _forbidden(self, scope: Scope) -> JSONResponse | None:
        try:
            self.container.admin.require(scope[USER_KEY], Permission.INGEST)
        except TocsinError as err:
            return error_response(err)
        return None

    def _format(self, route: Route, scope: Scope) -> BodyFormat | JSONResponse:
        given = header(scope, b"content-type")
        media = (given or route.default or "").split(";")[0].strip().lower()
        chosen = route.formats.get(media)
        if chosen is not None:
            return chosen
        accepted = ", ".join(route.formats)
        problem = Problem("headers", "content-type", f"{given!r} is not one of: {accepted}")
        return problem_response(415, f"unsupported Content-Type {given!r}", [problem])

    async def _store(
        self, route: Route, chosen: BodyFormat, receive: Receive
    ) -> tuple[int, dict[str, object]]:
        sink = RowSink(chosen.form)
        decoder = chosen.decoder(sink)
        await self._read(receive, decoder, sink)
        raw = sink.raw()
        return await self.store(raw, route)

    async def store(self, raw: RawObservations, route: Route) -> tuple[int, dict[str, object]]:
        """Validate, queue for the group commit and wait for it; the answer's status and body."""
        ingest = self.container.ingest
        if len(raw.times) > OFF_LOOP_ROWS:
            batch = await run_in_threadpool(ingest.validate, raw)
        else:
            batch = ingest.validate(raw)
        result = await asyncio.wrap_future(self.container.committer.submit(batch))
        answer = route.answer or _ingest_answer
        return route.ok_status, answer(
            result.received, result.evaluated, len(result.warning_events)
        )

    async def _read(self, receive: Receive, decoder: BodyDecoder, sink: RowSink) -> None:
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            if chunk and not sink.full:
                decoder.feed(chunk)
            if not message.get("more_body", False):
                break
        if not sink.full:
            decoder.finish()


class _Disconnected(TocsinError):
    """The client went away before the body was complete: nothing is stored."""


class _TooLarge(TocsinError):
    """The body passed the limit while it was read."""


async def _send_json(send: Send, status: int, body: object) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})

"""The ingest gate: the lean ASGI path of every observation write (`POST /api/v1/observations`
and the collectors' endpoints), in a lane ahead of the FastAPI application (`tocsin.api.lanes`).

It stands behind the request guard (`tocsin.api.limits`), which has authenticated the request
(401) before a byte of the body is read and left the body here. For each request, in this order:
at most `max_inflight` writes at once (else 429 with `Retry-After`); the principal's permission
(403); a declared length over the limit is refused unread (413); the Content-Type chooses
the body format (415 for another). The body is then decoded as it arrives, chunk by chunk, and
cut at the limit (413). A body with any problem is answered 422 naming each row and field, and
one naming an indicator outside the principal's scope 403; nothing of either is stored. A valid
one is handed to the group committer and answered 202 only after the transaction that stores it
has committed; when the committer's queue is full, 503 with `Retry-After`. The event loop never
waits on the database: commits run on the committer's thread.

The lane gives the gate exactly those writes; anything else would go on to the application.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.asgi import ASGIApp, Receive, Scope, Send
from tocsin.api.auth import PRINCIPAL_KEY
from tocsin.api.limits import declared_too_large, header, too_large
from tocsin.api.problems import error_response, problem_response
from tocsin.api.rows import RowSink
from tocsin.bootstrap import Container
from tocsin.core.access import Principal, require
from tocsin.core.errors import InvalidInput, Problem, TocsinError, Unauthenticated
from tocsin.core.sources import SourceKind
from tocsin.core.users import Permission
from tocsin.services.ingest import IngestResult

OFF_LOOP_ROWS = 50_000  # larger batches are mapped to indicator ids in a worker thread


class BodyDecoder(Protocol):
    """A body format, fed the body chunk by chunk."""

    def feed(self, data: bytes) -> None:
        """Take the next chunk."""

    def finish(self) -> None:
        """The body is complete."""


@dataclass(frozen=True)
class WriteContext:
    """What a decoder may need of the request: its query parameters and when it arrived."""

    query: Mapping[str, str]
    now_s: int
    max_body_bytes: int


@dataclass(frozen=True)
class BodyFormat:
    """How one Content-Type is decoded: rows named by `form`, decoded by `decoder`."""

    form: str
    decoder: Callable[[RowSink, WriteContext], BodyDecoder]


@dataclass(frozen=True)
class Route:
    """A write endpoint: its body formats by media type, and how a stored body is answered.

    `encodings` are Content-Encodings the decoder undoes itself (gzip is undone here);
    `schemes` the Authorization schemes taken for the API token (by the request guard); with
    `quiet` (collectors) a write is answered 204 without a body, also when none of its series
    was mapped. With `any_media` a body of any Content-Type is read in the default format (a
    protocol that names none); `busy_status` answers too many writes at once (429, or 503 for a
    client that drops a batch answered 4xx); with `error_member` every error body also carries
    InfluxDB 1.x's `error` (`tocsin.api.influx`)."""

    formats: dict[str, BodyFormat]
    kind: SourceKind = SourceKind.API
    default: str | None = None  # the media type assumed when none is given
    encodings: frozenset[str] = frozenset()
    schemes: tuple[str, ...] = ("bearer",)
    quiet: bool = False
    any_media: bool = False
    busy_status: int = 429
    error_member: bool = False


def _answer(route: Route, result: IngestResult | None) -> tuple[int, dict[str, object] | None]:
    if route.quiet or result is None:
        return 204, None
    return 202, {
        "received": result.received,
        "evaluated": result.evaluated,
        "warnings_changed": len(result.warning_events),
    }


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight:
            await self._busy(route, scope, receive, send)
            return
        self.inflight += 1
        try:
            await self._write(route, scope, receive, send)
        finally:
            self.inflight -= 1

    async def _busy(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        reason = f"{self.inflight} writes are being served; try again in 1 s"
        response = problem_response(route.busy_status, f"too many requests: {reason}", [])
        response.headers["Retry-After"] = "1"
        await response(scope, receive, send)

    async def _write(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self._forbidden(scope) or declared_too_large(scope, self.max_body_bytes)
        if refused is None:
            refused = _encoding_refused(route, scope)
        chosen = None
        if refused is None:
            chosen = self._format(route, scope)
            refused = chosen if isinstance(chosen, JSONResponse) else None
        if refused is not None or not isinstance(chosen, BodyFormat):
            await (refused or too_large(self.max_body_bytes))(scope, receive, send)
            return
        try:
            status, body = await self._store(route, chosen, scope=scope, receive=receive)
        except _Disconnected:
            return  # nobody to answer; nothing was stored
        except _TooLarge:
            await too_large(self.max_body_bytes)(scope, receive, send)
            return
        except TocsinError as err:  # anything unexpected is its lane's to answer (lanes.py)
            await error_response(err)(scope, receive, send)
            return
        await _send_json(send, status, body=body)

    def _forbidden(self, scope: Scope) -> JSONResponse | None:
        try:
            require(_principal(scope), Permission.INGEST)
        except TocsinError as err:
            return error_response(err)
        return None

    def _format(self, route: Route, scope: Scope) -> BodyFormat | JSONResponse:
        given = header(scope, b"content-type")
        media = (given or route.default or "").split(";")[0].strip().lower()
        chosen = route.formats.get(media)
        if chosen is None and route.any_media and route.default is not None:
            chosen = route.formats[route.default]
        if chosen is not None:
            return chosen
        accepted = ", ".join(route.formats)
        problem = Problem("headers", "content-type", f"{given!r} is not one of: {accepted}")
        return problem_response(415, f"unsupported Content-Type {given!r}", [problem])

    async def _store(
        self, route: Route, chosen: BodyFormat, *, scope: Scope, receive: Receive
    ) -> tuple[int, dict[str, object] | None]:
        sink = RowSink(chosen.form)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        now_s = int(self.container.clock.now().timestamp())
        decoder = chosen.decoder(sink, WriteContext(query, now_s, self.max_body_bytes))
        gzipped = (header(scope, b"content-encoding") or "").strip().lower() == "gzip"
        await self._read(receive, decoder, sink, gzipped=gzipped)
        if route.quiet and not sink.rows and not sink.problems:
            return _answer(route, None)  # nothing mapped: counted, nothing to store
        intake = self.container.intake
        if route.kind is SourceKind.API:  # collectors count what they decode themselves
            intake.counts[route.kind].received += sink.rows
        try:
            raw = sink.raw()
            ingest = self.container.ingest
            principal = _principal(scope)
            if len(raw.times) > OFF_LOOP_ROWS:
                batch = await run_in_threadpool(lambda: ingest.validate(raw, principal=principal))
            else:
                batch = ingest.validate(raw, principal=principal)
            future = self.container.committer.submit(batch)
        except TocsinError:
            intake.refused(route.kind, sink.rows)
            raise
        future.add_done_callback(lambda done: intake.settled(route.kind, done, rows=sink.rows))
        result: IngestResult = await asyncio.wrap_future(future)
        return _answer(route, result)

    async def _read(
        self, receive: Receive, decoder: BodyDecoder, sink: RowSink, *, gzipped: bool
    ) -> None:
        size = 0
        unzip = Gunzip() if gzipped else None
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            if unzip is not None and chunk:
                chunk = unzip.inflate(chunk, room=self.max_body_bytes - size)
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            if chunk and not sink.full:
                decoder.feed(chunk)
            if not message.get("more_body", False):
                break
        if unzip is not None:
            unzip.finish()
        if not sink.full:
            decoder.finish()


class _Disconnected(TocsinError):
    """The client went away before the body was complete: nothing is stored."""


class _TooLarge(TocsinError):
    """The body passed the limit while it was read."""


def _principal(scope: Scope) -> Principal:
    """Who the request guard found (Unauthenticated if the gate stands alone)."""
    principal: Principal | None = scope.get(PRINCIPAL_KEY)
    if principal is None:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")
    return principal


def _encoding_refused(route: Route, scope: Scope) -> JSONResponse | None:
    encoding = (header(scope, b"content-encoding") or "identity").strip().lower()
    if encoding in ("identity", "gzip") or encoding in route.encodings:
        return None
    taken = ", ".join(["identity", "gzip", *sorted(route.encodings)])
    problem = Problem("headers", "content-encoding", f"{encoding!r} is not one of: {taken}")
    return problem_response(415, f"unsupported Content-Encoding {encoding!r}", [problem])


class Gunzip:
    """Undoes `Content-Encoding: gzip` chunk by chunk. Members may follow one another (RFC 1952,
    what `cat a.gz b.gz` makes); a body that ends inside a member is truncated, and refused:
    zlib gives what it could decode, and a cut row would otherwise be stored as if whole."""

    def __init__(self) -> None:
        self.unzip = zlib.decompressobj(wbits=47)
        self.empty = True  # no byte yet: the body's decoder says it is empty

    def inflate(self, chunk: bytes, *, room: int) -> bytes:
        """Decompress a chunk, at most `room` + 1 bytes (more means the limit is passed)."""
        out = bytearray()
        self.empty = self.empty and not chunk
        while chunk and len(out) <= room:
            try:
                out += self.unzip.decompress(chunk, room - len(out) + 1)
            except zlib.error as err:
                raise InvalidInput([Problem("body", "", f"not gzip: {err}")]) from err
            chunk = b""
            if self.unzip.eof and self.unzip.unused_data:  # the next member
                chunk = self.unzip.unused_data
                self.unzip = zlib.decompressobj(wbits=47)
        return bytes(out)

    def finish(self) -> None:
        """The body is complete: InvalidInput unless it ended with a whole member."""
        if not self.unzip.eof and not self.empty:
            reason = "not gzip: the body ends inside a gzip member (truncated)"
            raise InvalidInput([Problem("body", "", reason)])


async def _send_json(send: Send, status: int, *, body: object | None) -> None:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-length", str(len(data)).encode())]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})

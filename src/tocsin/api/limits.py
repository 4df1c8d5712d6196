"""The body guard: authenticate before a body is read, and never read more than the limit.

A pure ASGI middleware in front of the application. Every request that carries a body (POST,
PUT, PATCH, DELETE) writes, and every write needs a token: the bearer token is checked first,
and a request without a valid one is answered 401 without a byte of its body being read. Then
the body is read up to `max_body_bytes`: a declared `Content-Length` over the limit is refused at
once, and a body streamed without one (chunked) is counted as it arrives and refused as soon as
it passes the limit — 413 either way. Only then does the application see the (buffered) body;
the route's own dependency checks the role's permission (403) with the user found here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.auth import USER_KEY, authenticate, token_of
from tocsin.api.problems import CHALLENGES, problem_response
from tocsin.bootstrap import Container
from tocsin.core.errors import Problem, Unauthenticated

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(Exception):
    """The body passed the limit."""


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first, if repeated), or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyGuard:
    """Authenticate first, then read at most `max_body_bytes` of the body."""

    def __init__(self, app: ASGIApp, *, container: Container, max_body_bytes: int) -> None:
        self.app = app
        self.container = container
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        refused = await self._authenticate(scope) or self._declared_too_large(scope)
        if refused is None:
            try:
                body = await self._read(receive)
            except BodyTooLarge:
                refused = self._too_large()
            else:
                await self.app(scope, _replay(body, receive), send)
                return
        await refused(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> JSONResponse | None:
        return await authenticate_scope(self.container, scope)

    def _declared_too_large(self, scope: Scope) -> JSONResponse | None:
        return declared_too_large(scope, self.max_body_bytes)

    def _too_large(self) -> JSONResponse:
        return too_large(self.max_body_bytes)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


async def authenticate_scope(
    container: Container, scope: Scope, *, token: str | None = None
) -> JSONResponse | None:
    """Find the bearer token's user (kept in the scope), or the 401 response (`token`: one
    already taken from the headers)."""
    token = token or token_of(header(scope, b"authorization"))
    try:  # a user known from a recent request needs no thread (a storm of posts)
        user = container.admin.known_user(token) if token else None
        user = user or await run_in_threadpool(authenticate, container, token)
    except Unauthenticated as err:
        return problem_response(401, str(err), headers=CHALLENGES[401])
    scope[USER_KEY] = user
    return None


def declared_too_large(scope: Scope, limit: int) -> JSONResponse | None:
    """A 413 when the declared Content-Length passes `limit`, a 400 when it is not a length."""
    declared = header(scope, b"content-length")
    if declared is None:
        return None
    if not declared.strip().isdigit():
        problem = Problem("headers", "content-length", f"not a length: {declared!r}")
        return problem_response(400, "invalid Content-Length header", [problem])
    return too_large(limit) if int(declared) > limit else None


def too_large(limit: int) -> JSONResponse:
    """The 413 response."""
    reason = f"larger than the limit of {limit:,} bytes (TOCSIN_MAX_BODY_BYTES)"
    return problem_response(413, f"request body too large: {reason}", [Problem("body", "", reason)])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then waits on the real channel."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

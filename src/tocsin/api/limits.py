"""The request guard: authenticate every request before routing, and never read more of a body
than the limit.

A pure ASGI middleware in front of the application. Every request but the public ones
(`tocsin.api.public`) needs a principal: the bearer token is checked first, and a request
without a valid one is answered 401 without a byte of its body being read (a deployment that
opened its reads, `TOCSIN_OPEN_READS`, reads anonymously). Then a body (POST, PUT, PATCH, DELETE)
is read up to `max_body_bytes`: a declared `Content-Length` over the limit is refused at once,
and a body streamed without one (chunked) is counted as it arrives and refused as soon as it
passes the limit — 413 either way. Only then does the application see the (buffered) body; the
route's own dependency checks the permission (403) of the principal found here.

A signed-in person's session cookie is a credential too; a write made with it must carry the
session's CSRF token in `X-CSRF-Token` (403 otherwise). Sign-in attempts are limited per client
address, writes per principal (429 with `Retry-After`, `tocsin.api.rates`).

The observation writes the ingest gate serves (`streamed`: their paths and the Authorization
schemes they take) are authenticated here like every request, but their body is left to the
gate, which decodes it as it arrives, cuts it at the limit and paces writes by how many it
serves at once and how full the commit queue is (429/503 with `Retry-After`) instead of a count
per minute. For these writes alone a token found valid is trusted for `TOKEN_TRUST` seconds
without asking the database again, unless this process has since revoked or rotated a token or
saved a user (`AccessService.changes`): a token revoked from another process (the command line)
may still write observations for that long. Every other request, and a token found invalid, is
asked about every time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

# the ASGI types are named here too for what imports them from this module (the lanes' tests)
from tocsin.api.asgi import ASGIApp as ASGIApp
from tocsin.api.asgi import Message as Message
from tocsin.api.asgi import Receive as Receive
from tocsin.api.asgi import Scope as Scope
from tocsin.api.asgi import Send as Send
from tocsin.api.auth import (
    PRINCIPAL_KEY,
    SCHEME,
    SESSION_COOKIE,
    SESSION_KEY,
    authenticate,
    token_of,
)
from tocsin.api.problems import CHALLENGES, error_response, problem_response
from tocsin.api.public import is_public
from tocsin.api.rates import TokenBucket
from tocsin.bootstrap import Container
from tocsin.core.access import Principal, anonymous_reader
from tocsin.core.duplicate_keys import DuplicateKey, loads_once
from tocsin.core.errors import Problem, Unauthenticated, Unavailable

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN = ("POST", "/api/v1/session")
# Machine feeds that a storm drives far past a person's rate of writes; each post waits for the
# commit it joins, so a sender is paced by its own connections. Prometheus drops a batch its
# Alertmanager refused, so a 429 here would lose alerts in exactly the storm they report.
PACED_BY_COMMIT = frozenset({("POST", "/api/v2/alerts")})
CSRF_HEADER = b"x-csrf-token"
SESSION_ENDED = "the session has ended or is not valid: sign in again"
TOKEN_TRUST = timedelta(seconds=1)
TOKENS_KEPT = 1_024


class BodyTooLarge(Exception):
    """The body passed the limit."""


class GuardLimits:
    """What the request guards of one application share: the sign-in and write rates and the
    tokens trusted for a moment (one set, however many guards stand in front of routes)."""

    def __init__(self, container: Container) -> None:
        settings = container.settings
        self.sign_ins = TokenBucket(settings.sign_in_per_minute, burst=5)
        self.writes = TokenBucket(settings.writes_per_minute, burst=60)
        self.tokens: dict[str, tuple[Principal, datetime, int]] = {}


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first, if repeated), or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequestGuard:
    """Authenticate first, then read at most `max_body_bytes` of the body (or leave a streamed
    write's body to the ingest gate behind)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        container: Container,
        max_body_bytes: int,
        streamed: Mapping[str, tuple[str, ...]] | None = None,
        limits: GuardLimits | None = None,
    ) -> None:
        self.app = app
        self.container = container
        self.max_body_bytes = max_body_bytes
        self.streamed = dict(streamed or {})
        shared = limits or GuardLimits(container)
        self.sign_ins = shared.sign_ins
        self.writes = shared.writes
        self.tokens = shared.tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._limit_sign_in(scope) or await self._authenticate(scope)
        streams = scope["method"] == "POST" and scope["path"] in self.streamed
        if refused is None and streams:
            await self.app(scope, receive, send)  # the gate reads, limits and paces the body
            return
        refused = refused or self._limit_writes(scope)
        if refused is None and scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        refused = refused or self._declared_too_large(scope)
        if refused is None:
            try:
                body = await self._read(receive)
            except BodyTooLarge:
                refused = self._too_large()
            else:
                refused = _repeated_key(scope, body)
                if refused is None:
                    await self.app(scope, _replay(body, receive), send)
                    return
        await refused(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> JSONResponse | None:
        """Find the principal (or refuse with 401); public requests pass without one; a
        database that cannot tell who it is: 503, not 500."""
        try:
            return await self._find_principal(scope)
        except Unavailable as err:
            return error_response(err)

    async def _find_principal(self, scope: Scope) -> JSONResponse | None:
        method, path = scope["method"], scope["path"]
        public = is_public(method, path)
        schemes = self.streamed.get(path, (SCHEME,)) if method == "POST" else (SCHEME,)
        query = scope.get("query_string", b"")
        token = token_of(header(scope, b"authorization"), schemes=schemes, query=query)
        cookie = _cookie(scope, SESSION_COOKIE) if token is None else None
        if cookie is not None:
            return await self._with_session(scope, cookie, public=public)
        if token is None and (public or self._opens(method)):
            if not public:
                scope[PRINCIPAL_KEY] = anonymous_reader()
            return None
        streams = method == "POST" and path in self.streamed
        try:
            scope[PRINCIPAL_KEY] = await self._token_principal(token, trusted=streams)
        except Unauthenticated as err:
            if public:
                return None
            return problem_response(401, str(err), headers=CHALLENGES[401])
        return None

    async def _token_principal(self, token: str | None, *, trusted: bool) -> Principal:
        """The token's principal, asked of the database; for a streamed write, one found valid
        is trusted for TOKEN_TRUST without asking again."""
        now = self.container.clock.now()  # the clock tokens expire by
        changes = self.container.access.changes.count
        known = self.tokens.get(token) if token and trusted else None
        if known is not None and known[1] > now and known[2] == changes:
            return known[0]
        principal = await run_in_threadpool(authenticate, self.container, token)
        if token and trusted:
            if len(self.tokens) >= TOKENS_KEPT:
                self.tokens.clear()
            self.tokens[token] = (principal, now + TOKEN_TRUST, changes)
        return principal

    async def _with_session(
        self, scope: Scope, secret: str, *, public: bool
    ) -> JSONResponse | None:
        """The session's principal; a write also needs the session's CSRF token."""
        session = await run_in_threadpool(self.container.sign_in.session, secret)
        if session is None:
            if public:
                return None
            return problem_response(401, SESSION_ENDED, headers=CHALLENGES[401])
        sent = header(scope, CSRF_HEADER) or ""
        writes = scope["method"] in BODY_METHODS and (scope["method"], scope["path"]) != SIGN_IN
        if writes and not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            reason = "a write with the session cookie needs its X-CSRF-Token header"
            return problem_response(403, reason, [Problem("headers", "x-csrf-token", reason)])
        scope[PRINCIPAL_KEY] = session.principal
        scope[SESSION_KEY] = session
        return None

    def _limit_sign_in(self, scope: Scope) -> JSONResponse | None:
        """Sign-in attempts per client address."""
        if (scope["method"], scope["path"]) != SIGN_IN:
            return None
        client = scope.get("client") or ("?", 0)
        return _too_many(self.sign_ins.allow(str(client[0])), "sign-in attempts")

    def _limit_writes(self, scope: Scope) -> JSONResponse | None:
        """Writes per principal."""
        principal = scope.get(PRINCIPAL_KEY)
        if scope["method"] not in BODY_METHODS or principal is None:
            return None
        if (scope["method"], scope["path"]) in PACED_BY_COMMIT:
            return None
        return _too_many(self.writes.allow(principal.name), "writes")

    def _opens(self, method: str) -> bool:
        """Whether this deployment reads anonymously (it opted out of private reads)."""
        return method in {"GET", "HEAD"} and self.container.settings.open_reads

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


def _too_many(wait: int | None, what: str) -> JSONResponse | None:
    if wait is None:
        return None
    detail = f"too many {what}: try again in {wait} s"
    return problem_response(429, detail, headers={"Retry-After": str(wait)})


def _cookie(scope: Scope, name: str) -> str | None:
    """A cookie's value from the request (None: absent or unreadable)."""
    raw = header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


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


def _repeated_key(scope: Scope, body: bytes) -> JSONResponse | None:
    """422 for a JSON body in which an object names a key twice (`tocsin.core.duplicate_keys`);
    a body that is not JSON is left to the route, which says why."""
    media = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if not (media == "application/json" or media.endswith("+json")):
        return None
    try:
        loads_once(body)
    except DuplicateKey as err:
        found = err.problem()
        return problem_response(422, "a JSON object names a key twice", [found])
    except (ValueError, RecursionError):
        return None
    return None

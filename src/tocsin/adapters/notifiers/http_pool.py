"""A small HTTP/1.1 client for webhooks, on asyncio: connections kept alive per receiver.

In a storm the delivery worker posts thousands of notifications a second, many at once, to a few
receivers that may be far away. Threads would cap how many can be out at once and cost a switch
each; a general HTTP client costs far more CPU per request than posting a JSON body needs
(measured on the development machine: httpx about 350 µs, the standard library's `http.client`
about 90 µs, these streams about 30 µs; ADR 0009). So webhooks go out on one event loop, over
connections kept alive per origin (scheme, host, port):

- a request takes an idle connection of its origin, or opens one, and gives it back after
  reading the whole answer (unless the server said it closes it, or the answer's end was the
  connection's end);
- a kept connection the receiver has meanwhile closed fails on its next use before any answer
  arrives; the request is then sent once more on a fresh connection (the receiver may see it
  twice, which at-least-once delivery with an idempotency key allows);
- a URL's user and password sent as Basic authorisation;
- HTTPS with the system's certificate authorities; proxies from the environment as for other
  tools (`http_proxy`, `https_proxy`, `no_proxy`): plain HTTP through the proxy with the absolute
  URL, HTTPS through a CONNECT tunnel;
- an answer's headers are read up to 64 KiB, its body is read to its end and its first 200 bytes
  kept (for the error message); `Content-Length`, chunked, and to-the-close bodies are
  understood, `1xx` interim answers skipped.

Connections belong to the event loop that opened them; each loop has its own idle ones.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

Origin = tuple[str, str, int]
HEAD_LIMIT = 64 * 1024
KEEP = 200  # bytes of an answer's body kept
STALE = (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)


class HttpError(OSError):
    """The exchange failed: no connection, a timeout, or an answer that is not HTTP."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: status, headers (names in lower case) and the start of the body."""

    status: int
    headers: Mapping[str, str]
    text: str


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL's requests go: its origin, the request line's target, a proxy if any."""

    origin: Origin
    path: str  # the absolute URL when sent through an HTTP proxy
    proxy: tuple[str, int] | None
    host_header: str
    authorization: str | None = None  # Basic, from the URL's user and password


@lru_cache(maxsize=4096)
def target_of(url: str) -> Target:
    """Parse a webhook URL (the environment's proxies are read once per URL)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    basic = _basic(parts.username, parts.password)
    origin = (scheme, parts.hostname, port)
    proxy = urllib.request.getproxies_environment().get(scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        via = (p.hostname or "", p.port or 80)
        plain = urlunsplit(parts._replace(netloc=host_header))  # no credentials to the proxy
        return Target(origin, plain if scheme == "http" else path, via, host_header, basic)
    return Target(origin, path, None, host_header, basic)


def _basic(user: str | None, password: str | None) -> str | None:
    """The Basic `Authorization` value for a URL's credentials (None without them), as
    general HTTP clients send it."""
    if user is None:
        return None
    pair = f"{unquote(user)}:{unquote(password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


@dataclass
class KeepAlivePool:
    """POSTs over kept-alive connections, at most `max_idle` kept per origin and loop."""

    timeout_s: float = 10.0
    max_idle: int = 64
    _idle: dict[tuple[int, Origin], list[_Connection]] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Send one POST and read its whole answer; HttpError when that failed."""
        target = target_of(url)
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._post(target, body, headers)
        except TimeoutError as err:
            raise HttpError(f"no answer within {self.timeout_s:g} s") from err
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
            if isinstance(err, HttpError):
                raise
            raise HttpError(str(err) or type(err).__name__) from err

    async def _post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Answer:
        request = _request(target, body, headers)
        conn, reused = await self._take(target)
        try:
            return await self._exchange(conn, target, request)
        except STALE:
            conn.close()
            if not reused:
                raise
        except BaseException:
            conn.close()
            raise
        conn = await self._open(target)  # the kept connection had been closed: once more
        try:
            return await self._exchange(conn, target, request)
        except BaseException:
            conn.close()
            raise

    async def _exchange(self, conn: _Connection, target: Target, request: bytes) -> Answer:
        conn.writer.write(request)
        await conn.writer.drain()
        status, version, headers = await _read_head(conn.reader)
        while 100 <= status < 200:  # interim answers
            status, version, headers = await _read_head(conn.reader)
        text, to_close = (
            ("", False) if status in (204, 304) else await _read_body(conn.reader, headers)
        )
        closes = headers.get("connection", "").lower()
        if to_close or closes == "close" or (version == "HTTP/1.0" and closes != "keep-alive"):
            conn.close()
        else:
            self._give_back(target.origin, conn)
        return Answer(status, headers, text)

    def close(self) -> None:
        """Close the idle connections of the running event loop (of every loop when called
        outside one)."""
        try:
            loop: int | None = id(asyncio.get_running_loop())
        except RuntimeError:
            loop = None
        for key in [k for k in self._idle if loop is None or k[0] == loop]:
            for conn in self._idle.pop(key):
                conn.close()

    async def _take(self, target: Target) -> tuple[_Connection, bool]:
        idle = self._idle.get((id(asyncio.get_running_loop()), target.origin))
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof():
                return conn, True
            conn.close()
        return await self._open(target), False

    def _give_back(self, origin: Origin, conn: _Connection) -> None:
        idle = self._idle.setdefault((id(asyncio.get_running_loop()), origin), [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    async def _open(self, target: Target) -> _Connection:
        scheme, host, port = target.origin
        tls = self._context() if scheme == "https" else None
        if target.proxy is None:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None, limit=HEAD_LIMIT
            )
            return _Connection(reader, writer)
        reader, writer = await asyncio.open_connection(*target.proxy, limit=HEAD_LIMIT)
        conn = _Connection(reader, writer)
        if tls is not None:
            await _tunnel(conn, host, port)
            await writer.start_tls(tls, server_hostname=host)
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _request(target: Target, body: bytes, headers: Mapping[str, str]) -> bytes:
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}"]
    if target.authorization:
        lines.append(f"Authorization: {target.authorization}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    first, *rest = head.decode("latin-1").split("\r\n")
    version, _, tail = first.partition(" ")
    code = tail[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise HttpError(f"not an HTTP answer: {first[:80]!r}")
    headers: dict[str, str] = {}
    for line in rest:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(code), version, headers


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> tuple[str, bool]:
    """The body's first bytes as text, and whether the connection ended with it."""
    kept = bytearray()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            kept += (await reader.readexactly(size + 2))[:-2][: max(KEEP - len(kept), 0)]
        return kept[:KEEP].decode("utf-8", "replace"), False
    length = headers.get("content-length")
    if length is not None and length.strip().isdigit():
        left = int(length)
        while left:
            chunk = await reader.read(min(left, 65536))
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(kept), left)
            kept += chunk[: max(KEEP - len(kept), 0)]
            left -= len(chunk)
        return kept.decode("utf-8", "replace"), False
    while chunk := await reader.read(65536):  # to the connection's end
        kept += chunk[: max(KEEP - len(kept), 0)]
    return kept.decode("utf-8", "replace"), True


async def _tunnel(conn: _Connection, host: str, port: int) -> None:
    """Ask an HTTP proxy for a tunnel to host:port (CONNECT)."""
    conn.writer.write(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await conn.writer.drain()
    status, _, _ = await _read_head(conn.reader)
    if status != 200:
        raise HttpError(f"the proxy refused a tunnel to {host}:{port}: {status}")

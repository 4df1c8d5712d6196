"""A small HTTP/1.1 client for webhooks: connections kept alive per receiver, shared by threads.

In a storm the delivery worker posts thousands of notifications a second, from several sending
threads, to a few receivers. Each post must not open a connection (a TCP and maybe a TLS
handshake), and the client's own work per request must stay small: measured on the development
machine, httpx spends about 350 µs of CPU per small POST on a kept-alive connection, the standard
library's `http.client` under 100 µs (ADR 0009). So this pool keeps `http.client` connections,
idle ones per origin (scheme, host, port), most recently used first:

- a request takes an idle connection of its origin, or opens one, and gives it back after reading
  the whole answer (unless the server said it closes it);
- a kept connection the receiver has meanwhile closed fails on its next use before any answer;
  the request is then sent once more on a fresh connection (the receiver may see it twice, which
  at-least-once delivery with an idempotency key allows);
- proxies come from the environment as for other tools (`http_proxy`, `https_proxy`,
  `no_proxy`): plain HTTP through the proxy with the absolute URL, HTTPS through a CONNECT tunnel.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

Origin = tuple[str, str, int]
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: status, headers (names in lower case) and the start of the body."""

    status: int
    headers: Mapping[str, str]
    text: str


@dataclass(frozen=True, slots=True)
class _Target:
    origin: Origin
    path: str  # what goes on the request line (the absolute URL through an HTTP proxy)
    proxy: tuple[str, int] | None


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = urllib.request.getproxies_environment().get(scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        via = (p.hostname or "", p.port or 80)
        return _Target((scheme, parts.hostname, port), url if scheme == "http" else path, via)
    return _Target((scheme, parts.hostname, port), path, None)


class KeepAlivePool:
    """POSTs over kept-alive connections, at most `max_idle` kept per origin."""

    def __init__(self, *, timeout_s: float = 10.0, max_idle: int = 64) -> None:
        self.timeout_s = timeout_s
        self.max_idle = max_idle
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Send one POST and read its whole answer; OSError or HTTPException when it failed."""
        target = _target(url)
        conn, reused = self._take(target)
        try:
            return self._exchange(conn, target, body, headers)
        except STALE:
            conn.close()
            if not reused:
                raise
        except BaseException:
            conn.close()
            raise
        conn = self._open(target)  # the kept connection had been closed: once more, fresh
        try:
            return self._exchange(conn, target, body, headers)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        target: _Target,
        body: bytes,
        headers: Mapping[str, str],
    ) -> Answer:
        conn.request("POST", target.path, body=body, headers=dict(headers))
        response = conn.getresponse()
        data = response.read()
        answer = Answer(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data[:200].decode("utf-8", "replace"),
        )
        if response.will_close:
            conn.close()
        else:
            self._give_back(target.origin, conn)
        return answer

    def _take(self, target: _Target) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(target.origin)
            if idle:
                return idle.pop(), True
        return self._open(target), False

    def _give_back(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def _open(self, target: _Target) -> http.client.HTTPConnection:
        scheme, host, port = target.origin
        connect_to = target.proxy or (host, port)
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                *connect_to, timeout=self.timeout_s, context=self._context()
            )
            if target.proxy is not None:
                conn.set_tunnel(host, port)
        else:
            conn = http.client.HTTPConnection(*connect_to, timeout=self.timeout_s)
        return conn

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls

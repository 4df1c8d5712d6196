"""Serve the web app with uvicorn: in the foreground (`tocsin serve`), or in a background
thread (tests, benchmarks, embedding). Either way the socket is bound first, so a port in use
is one clear error before anything claims to be serving."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tocsin.core.errors import Unavailable
from tocsin.runtime import tune_collector

BIND_REASONS = {
    errno.EADDRINUSE: "is in use (stop the other server or choose another --port)",
    errno.EACCES: "needs privileges this user does not have (choose a --port above 1023)",
    errno.EADDRNOTAVAIL: "is not an address of this machine",
}


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, or Unavailable saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, OverflowError) as err:
        raise Unavailable(f"cannot listen on {host}:{port}: {err}") from err
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as err:
        sock.close()
        reason = BIND_REASONS.get(getattr(err, "errno", None) or 0, str(err))
        raise Unavailable(f"cannot listen on {host}:{port}: the address {reason}") from err
    return sock


def serve_forever(
    app: FastAPI,
    *,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None = None,
    sock: socket.socket | None = None,
    switch_ms: float | None = None,
) -> None:
    """Bind host:port (unless `sock` is already bound), call `on_ready(base URL)`, then serve
    until interrupted. The process is a server from here on: its collector is tuned (and its
    thread switch interval, `switch_ms`, when given)."""
    sock = sock or bind(host, port)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    if on_ready is not None:
        on_ready(f"http://{host}:{port}")
    tune_collector(switch_ms=switch_ms)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serving(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` on `port` (0: a free one) of `host` in a thread; yield its base URL; stop it
    on exit.

    The socket is bound and listening before the thread starts, so a first request simply waits
    in the backlog until uvicorn accepts it: callers need no start-up polling.
    """
    sock = bind(host, port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=1, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tocsin-web", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

"""The storm benchmark's traffic: an open-loop HTTP load generator and a webhook sink.

Both run in processes of their own (so neither shares an interpreter lock with the system under
test or with each other) on asyncio, with uvloop when it is installed, and speak HTTP/1.1 with
keep-alive over raw streams: no HTTP library sits on the measured path.

- `offer` sends pre-built requests, each at its due moment, over a fixed number of connections
  (open loop: a request waiting for a free connection keeps its due moment as its offer time, so
  a slow server is charged for the queue it causes). It returns, per request, the moment it was
  due, the moment its answer arrived and the status code.
- `Sink` answers every POST with 200 at once and keeps each body with the moment it arrived
  and its `Idempotency-Key`;
  bodies are parsed later, by the parent, never on the receiving path.

Moments are `time.monotonic()`, which on Linux is one clock for every process of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.new_event_loop()


def post_request(host: str, port: int, path: str, body: bytes, *, token: str = "") -> bytes:
    """A complete HTTP/1.1 POST of a JSON body (built once, sent as it is)."""
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


@dataclass(frozen=True)
class Offered:
    """What happened to one request: due, answered (monotonic seconds) and the status."""

    due: float
    answered: float
    status: int


async def _offer(
    host: str,
    port: int,
    requests: Sequence[bytes],
    due: Sequence[float],
    connections: int,
    start: float | None,
) -> list[Offered]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    results: list[Offered | None] = [None] * len(requests)
    start = start if start is not None else time.monotonic() + 0.2
    moments = [start + d for d in due]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                i = await queue.get()
                if i < 0:
                    return
                status = 0
                for _attempt in range(2):  # a connection the server closed is opened again
                    try:
                        writer.write(requests[i])
                        status = await _read_response(reader)
                        break
                    except (ConnectionError, asyncio.IncompleteReadError):
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, port)
                results[i] = Offered(moments[i], time.monotonic(), status)
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    for i, moment in enumerate(moments):
        wait = moment - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(-1)
    await asyncio.gather(*workers)
    return [
        r if r is not None else Offered(moments[i], float("nan"), 0) for i, r in enumerate(results)
    ]


def _offer_main(conn: Connection, args: tuple[Any, ...]) -> None:
    loop = _loop()
    try:
        conn.send(loop.run_until_complete(_offer(*args)))
    finally:
        loop.close()
        conn.close()


def offer(
    host: str,
    port: int,
    requests: Sequence[bytes],
    due: Sequence[float],
    *,
    connections: int = 32,
    start: float | None = None,
) -> list[Offered]:
    """Send `requests[i]` at `due[i]` seconds after the start (a `time.monotonic()` moment;
    default: as soon as the sending process is up), in a process of its own; block until every
    answer is in."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    args = (host, port, list(requests), list(due), connections, start)
    process = ctx.Process(target=_offer_main, args=(child, args))
    process.start()
    child.close()
    try:
        return list(parent.recv())
    finally:
        process.join()


# -- the sink --------------------------------------------------------------------------------


async def _serve_sink(conn: Connection, ready: Any) -> None:
    arrivals: list[tuple[float, bytes, str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                key = ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    field = name.strip().lower()
                    if field == b"content-length":
                        length = int(value)
                    elif field == b"idempotency-key":
                        key = value.strip().decode("latin-1")
                body = await reader.readexactly(length) if length else b""
                arrivals.append((time.monotonic(), body, key))
                writer.write(OK)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    ready.send(server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "take":
            taken, arrivals[:] = list(arrivals), []
            conn.send(taken)
        else:
            server.close()
            return


def _sink_main(conn: Connection, ready: Connection) -> None:
    loop = _loop()
    try:
        loop.run_until_complete(_serve_sink(conn, ready))
    finally:
        loop.close()


class Sink:
    """A webhook receiver in a process of its own; `take()` returns what arrived since the last
    call, as (monotonic moment, body, `Idempotency-Key` header or "") triples."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        ready, ready_child = ctx.Pipe()
        self.process = ctx.Process(target=_sink_main, args=(child, ready_child), daemon=True)
        self.process.start()
        self.port: int = ready.recv()
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def take(self) -> list[tuple[float, bytes, str]]:
        """Bodies received since the last call."""
        self._conn.send("take")
        return list(self._conn.recv())

    def close(self) -> None:
        """Stop the sink process."""
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()

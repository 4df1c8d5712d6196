"""An open-loop HTTP load generator: requests sent at a fixed rate, whatever the answers do.

A closed loop (wrk: each connection sends its next request when the last is answered) offers
less load as the server slows, and a stalled server stops the clock for the requests it holds
back ("coordinated omission", G. Tene, "How NOT to Measure Latency", 2013). Here request `i` is
due at `start + i / rate`; it goes out on an idle keep-alive connection (a new one when none is
idle, up to `max_connections`; one idle for `IDLE_S` is closed, not reused, since the server
may have closed it), and its latency runs from when it was due to when its answer
was read whole. A request the client itself could not send on time (this process starved of
the processor) is therefore counted against the server too, and the client's own lateness is
reported beside the figures so that a reader can tell the two apart.

HTTP/1.1 only as far as a benchmark needs: each answer has a Content-Length (Tocsin's do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

IDLE_S = 2.0  # a keep-alive connection idle longer is not reused (uvicorn closes them at 5 s)


@dataclass
class Tally:
    """What came back: latencies of accepted answers (seconds), the rest counted."""

    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    errors: int = 0
    lateness: list[float] = field(default_factory=list)  # the client's, at each send
    connections: int = 0
    first_due: float = 0.0
    last_done: float = 0.0

    def figures(self, offered: float) -> dict[str, float | int]:
        """Rate accepted over the run (first request due to last answer), percentiles."""
        took = max(self.last_done - self.first_due, 1e-9)
        lat = np.array(self.latencies or [0.0]) * 1e3
        late = np.array(self.lateness or [0.0]) * 1e3
        return {
            "offered_per_s": offered,
            "accepted": len(self.latencies),
            "reports_per_s": round(len(self.latencies) / took),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p90_ms": round(float(np.percentile(lat, 90)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "max_ms": round(float(lat.max()), 1),
            "refused": self.refused,
            "errors": self.errors,
            "client_late_p99_ms": round(float(np.percentile(late, 99)), 1),
            "connections_opened": self.connections,
        }


def post(path: str, host: str, body: bytes, content_type: str) -> bytes:
    """A POST request's bytes."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get(path: str, host: str) -> bytes:
    """A GET request's bytes."""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One answer's status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def run(
    base: str,
    requests: Sequence[bytes],
    *,
    rate: float,
    accepted: Callable[[int, bytes], bool],
    max_connections: int = 1024,
) -> Tally:
    """Send `requests` at `rate` a second; tally the answers `accepted` judges."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # newest last
    slots = asyncio.Semaphore(max_connections)
    tally = Tally()
    loop = asyncio.get_running_loop()

    async def one(request: bytes, due: float) -> None:
        async with slots:
            reader = writer = None
            while idle:  # the most recently used; one the server may have closed is dropped
                reader, writer, used = idle.pop()
                if loop.time() - used < IDLE_S:
                    break
                writer.close()
                reader = writer = None
            if reader is None or writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                tally.connections += 1
            try:
                writer.write(request)
                status, body = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                tally.errors += 1
                writer.close()
                return
            done = loop.time()
            idle.append((reader, writer, done))
        tally.last_done = max(tally.last_done, done)
        if accepted(status, body):
            tally.latencies.append(done - due)
        else:
            tally.refused += 1

    start = loop.time() + 0.05
    tally.first_due = start
    tasks = []
    for i, request in enumerate(requests):
        due = start + i / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tally.lateness.append(max(0.0, loop.time() - due))
        tasks.append(asyncio.ensure_future(one(request, due)))
    await asyncio.gather(*tasks)
    for _, writer, _ in idle:
        writer.close()
    return tally


def drive(
    base: str,
    requests: Sequence[bytes],
    *,
    rate: float,
    accepted: Callable[[int, bytes], bool],
    max_connections: int = 1024,
) -> dict[str, float | int]:
    """`run` on a fresh event loop (uvloop when installed); its figures."""
    try:
        import uvloop

        runner: Callable[..., Tally] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    started = time.perf_counter()
    work = run(base, requests, rate=rate, accepted=accepted, max_connections=max_connections)
    tally = runner(work)
    figures = tally.figures(rate)
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures

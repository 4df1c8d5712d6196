"""Real `tocsin serve` processes and a real webhook receiver, for the end-to-end tests.

`Server` runs `tocsin serve` as a subprocess that can be killed (SIGKILL) and started again;
`Sink` is an HTTP receiver in this process that records every notification (its idempotency
key and body) and can kill a server while it is being sent to. Real time, bounded by deadlines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from tests.http_server import local_http_server
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing import processes

DEADLINE_S = 60.0
CLI = [sys.executable, "-c", "from tocsin.cli.main import app; app()"]
SERVE = [*CLI, "serve"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def issue_token(db: str, config: Path | None = None) -> str:
    """A duty officer's API token in the database `db` (created from `config` if given)."""
    container = build(Settings(database_url=db, config_dir=config))
    try:
        container.admin.add_user("feeder", Role.DUTY_OFFICER, unit="NAT", actor="test")
        return container.access.issue("feeder", TokenRequest("e2e"), actor="test")[1]
    finally:
        container.close()


@dataclass
class Received:
    """One request the sink received."""

    key: str
    body: dict[str, Any]


@dataclass
class Sink:
    """A webhook receiver that records every request; `on_request` may kill a server before
    the request is answered (the sender then never learns the outcome)."""

    received: list[Received] = field(default_factory=list)
    on_request: Callable[[Received, int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    url: str = ""

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def record(self, key: str, body: dict[str, Any]) -> None:
        """Store a request, then let `on_request` act (outside the lock)."""
        request = Received(key, body)
        with self.changed:
            self.received.append(request)
            ordinal = len(self.received)
            self.changed.notify_all()
        if self.on_request is not None:
            self.on_request(request, ordinal)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Block until predicate(received) holds or the deadline passes."""
        with self.changed:
            return bool(self.changed.wait_for(lambda: predicate(self.received), timeout))

    def snapshot(self) -> list[Received]:
        """A copy of what was received so far."""
        with self.lock:
            return list(self.received)


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            sink.record(self.headers["Idempotency-Key"], body)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *_: Any) -> None:
            return

    return Handler


@contextmanager
def running_sink() -> Iterator[Sink]:
    """A sink listening on a free port (its URL in `url`)."""
    sink = Sink()
    with local_http_server(_handler(sink)) as port:
        sink.url = f"http://127.0.0.1:{port}/hook"
        yield sink


@dataclass
class Server:
    """`tocsin serve` as a subprocess that can be killed and restarted."""

    db: str
    config: Path | None
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """Where it serves."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Its process id while it runs."""
        return self.process.pid if self.process is not None and self.alive else None

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process (without waiting for it to answer)."""
        cmd = [*SERVE, "--db", self.db, "--port", str(self.port)]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                cmd, env={**os.environ, **self.env}, stdout=out, stderr=out
            )
        self.starts += 1
        return self.process

    def start(self) -> subprocess.Popen[bytes]:
        """Start the process and wait until /healthz answers."""
        process = self.launch()
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError("serve exited: " + self.log.read_text()[-2000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("serve did not start")

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        processes.kill(self.process)

    def stop(self) -> None:
        """SIGINT (a graceful stop), then wait."""
        processes.stop(self.process, sig=signal.SIGINT)

    def post(self, path: str, body: Any, token: str, *, timeout: float = 10) -> httpx.Response:
        """POST JSON with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=timeout)

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

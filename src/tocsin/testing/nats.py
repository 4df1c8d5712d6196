"""A throw-away NATS server with JetStream (Debian's `nats-server`), for tests and benchmarks:
a free loopback port, a store folder of its own; it can be killed and started again on the
same port and store (what it acknowledged survives)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tocsin.testing.postgres import free_port
from tocsin.testing.processes import kill, stop

READY_S = 30.0


def nats_binary() -> str | None:
    """Where `nats-server` is installed, if it is."""
    return shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )


class NatsServer:
    """`nats-server -js` in a temporary folder; `url` is its client address."""

    def __init__(self) -> None:
        binary = nats_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed (Debian package 'nats-server')")
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="tocsin-nats-"))
        self.port = free_port()
        self.monitor = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until JetStream answers its health check."""
        cmd = [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        cmd += ["-m", str(self.monitor), "-sd", str(self.base / "store")]
        with (self.base / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + READY_S
        health = f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nats-server exited: " + self.log()[-2000:])
            try:
                with urllib.request.urlopen(health, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not become healthy: " + self.log()[-2000:])

    def kill(self) -> None:
        """SIGKILL it and wait (its store keeps what it acknowledged)."""
        kill(self.process)

    def stop(self) -> None:
        """Stop it gracefully."""
        stop(self.process, timeout=10)

    def log(self) -> str:
        """What it wrote so far."""
        path = self.base / "nats.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        """Stop it and delete its folder."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def nats_server() -> Iterator[NatsServer]:
    """A running NATS server with JetStream, removed afterwards."""
    server = NatsServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()

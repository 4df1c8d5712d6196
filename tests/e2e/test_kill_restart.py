"""Kill `tocsin serve` with SIGKILL at awkward moments and restart it: no warning is lost, no
notification is delivered under two keys, and a key arrives twice only when the process died
between handing it to the receiver and recording the delivery (at least once + idempotency key).

A real subprocess, a real HTTP sink in this process, real time (bounded by deadlines only).
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.testing.scenario import small_config, write_small_config

N_INDICATORS = 12
BATCH = 50  # DeliveryWorker's default round size
DEADLINE_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sink:
    """A webhook receiver that records every request and can kill the server mid-request."""

    received: list[dict[str, Any]] = field(default_factory=list)
    kill_at: set[int] = field(default_factory=set)  # request ordinals that kill the server
    victim: subprocess.Popen[bytes] | None = None
    kills: list[str] = field(default_factory=list)  # keys whose delivery died mid-send
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def record(self, key: str, body: dict[str, Any]) -> bool:
        """Store a request; True when this request must kill the server before answering."""
        with self.changed:
            self.received.append({"key": key, **body})
            self.changed.notify_all()
            if len(self.received) in self.kill_at and self.victim is not None:
                self.kills.append(key)
                return True
            return False

    def wait_for(self, predicate: Any, timeout: float = DEADLINE_S) -> bool:
        """Block until predicate(received) holds or the deadline passes."""
        with self.changed:
            return bool(self.changed.wait_for(lambda: predicate(self.received), timeout))

    def keys_by_reason(self) -> dict[str, set[str]]:
        """Distinct keys per (reason) seen."""
        out: dict[str, set[str]] = {}
        for r in self.received:
            out.setdefault(r["reason"], set()).add(r["key"])
        return out


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            key = self.headers["Idempotency-Key"]
            if sink.record(key, body) and sink.victim is not None:
                sink.victim.send_signal(signal.SIGKILL)
                sink.victim.wait()
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *_: Any) -> None:
            return

    return Handler


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    """A running sink and its URL."""
    s = Sink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _config(tmp_path: Path, url: str) -> Path:
    base = small_config()
    indicators = [
        {
            "code": f"G{i:02d}.level",
            "name": f"Gauge {i}",
            "region": ("D11", "D12", "D21")[i % 3],
            "domain": "natural.flood",
            "unit": "m",
            "thresholds": {"yellow": 3.0, "red": 5.0},
        }
        for i in range(N_INDICATORS)
    ]
    units = [
        {"code": "NAT", "name": "Nation", "region": "N", "webhook_url": url},
    ]
    routes = {
        "route": {
            "receiver": "NAT",
            "group_by": ["subject"],
            "group_wait_s": 0,
            "group_interval_s": 1,
        }
    }
    return write_small_config(
        tmp_path / "config",
        **{
            "indicators.yaml": {
                "indicators": [*base["indicators.yaml"]["indicators"], *indicators]
            },
            "units.yaml": {"units": units},
            "routes.yaml": routes,
        },
    )


@dataclass
class Server:
    """`tocsin serve` as a subprocess that can be killed and restarted."""

    db: str
    config: Path
    port: int
    log: Path
    lease_s: float = 1.0  # TOCSIN_NOTIFY_LEASE_S
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "TOCSIN_DISPATCH_INTERVAL_S": "0.05",
            "TOCSIN_NOTIFY_LEASE_S": str(self.lease_s),
        }
        cmd = [sys.executable, "-c", "from tocsin.cli.main import app; app()", "serve"]
        cmd += ["--db", self.db]
        cmd += ["--config", str(self.config), "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("serve exited: " + self.log.read_text()[-2000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self.process
            except httpx.HTTPError:
                threading.Event().wait(0.05)
        raise AssertionError("serve did not start")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.running():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def feeder_token(db: str, config: Path) -> str:
    """Create the database from `config` with a duty officer; that user's API token."""
    container = build(Settings(database_url=db, config_dir=config))
    container.admin.add_user("feeder", Role.DUTY_OFFICER, unit=None, actor="test")
    token = container.admin.issue_token("feeder", label="e2e", actor="test")
    container.close()
    return token


def _post(server: Server, token: str, values: dict[str, float], at: int) -> bool:
    """Post observations; False when the server died while answering."""
    body = {"observations": [{"indicator": k, "time": at, "value": v} for k, v in values.items()]}
    try:
        r = httpx.post(
            server.url + "/api/v1/observations",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 202


def _post_until_accepted(server: Server, token: str, values: dict[str, float], at: int) -> None:
    """A client that retries after a crash (observations are idempotent per time)."""
    while not _post(server, token, values, at):
        if server.process is not None and server.process.poll() is not None:
            server.start()


@pytest.mark.slow
def test_sigkill_at_any_moment_loses_nothing_and_duplicates_only_by_key(
    tmp_path: Path, sink: tuple[Sink, str]
) -> None:
    receiver, url = sink
    config = _config(tmp_path, url)
    db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    token = feeder_token(db, config)
    server = Server(db, config, _free_port(), tmp_path / "serve.log")
    codes = [f"G{i:02d}.level" for i in range(N_INDICATORS)]
    t0 = 1_780_000_000
    try:
        # cycle 1: the sink kills the server while it delivers the 3rd notification
        receiver.victim = server.start()
        receiver.kill_at = {3}
        _post_until_accepted(server, token, dict.fromkeys(codes, 3.5), t0)
        receiver.wait_for(lambda rs: len(rs) >= 3)
        server.process and server.process.wait()
        receiver.victim = server.start()
        assert receiver.wait_for(lambda rs: len({r["key"] for r in rs}) >= N_INDICATORS)
        # cycle 2: upgrade everything, kill right after the post returns, restart
        _post_until_accepted(server, token, dict.fromkeys(codes, 5.5), t0 + 60)
        server.kill()
        receiver.victim = server.start()
        assert receiver.wait_for(lambda rs: len({r["key"] for r in rs}) >= 2 * N_INDICATORS)
        # cycle 3: lift everything; the sink kills the server on the 2nd lift notification
        receiver.kill_at = {len(receiver.received) + 2}
        _post_until_accepted(server, token, dict.fromkeys(codes, 1.0), t0 + 120)
        receiver.wait_for(lambda rs: len(receiver.kills) >= 2)
        server.process and server.process.wait()
        receiver.victim = server.start()
        assert receiver.wait_for(lambda rs: len({r["key"] for r in rs}) >= 3 * N_INDICATORS)
        # let the restarted server run a while longer: nothing more may arrive
        threading.Event().wait(1.5)
    finally:
        server.kill()
    by_reason = receiver.keys_by_reason()
    assert {k: len(v) for k, v in by_reason.items()} == {
        "new": N_INDICATORS,
        "changed": N_INDICATORS,
        "resolved": N_INDICATORS,
    }
    subjects: dict[str, list[str]] = {}
    for r in receiver.received:
        for w in r["firing"] + r["resolved"]:
            subjects.setdefault(w["subject"], []).append(r["reason"])
    for code in codes:  # each indicator: raised, upgraded, lifted; each told once (per key)
        assert sorted(set(subjects[code])) == ["changed", "new", "resolved"]
    keys = [r["key"] for r in receiver.received]
    repeated = {k for k in keys if keys.count(k) > 1}
    # the deliveries cut by a kill came again, under the same key; besides them, only keys of
    # the round in flight at a kill (handed over, outcome not yet recorded) may repeat
    assert len(receiver.kills) == 2
    assert set(receiver.kills) <= repeated
    kill_rounds = sum(1 for _ in receiver.kills) + 1  # + the kill right after a post
    assert len(keys) - len(set(keys)) <= kill_rounds * BATCH
    container = build(Settings(database_url=db))
    log = container.dispatcher.notification_log(limit=10_000)
    container.close()
    assert len(log) == 3 * N_INDICATORS
    assert {n.status.value for n in log} == {"delivered"}

"""A storm, and SIGKILL in the middle of it: every accepted alert is notified, and never twice
under different keys (issue 22).

`tocsin serve` runs as a real subprocess over a 2,000-cell grid; a client posts 2,000
Prometheus alerts (each its own group) in Prometheus's batches of 64, on several connections at
once. The webhook sink (in this process) SIGKILLs the server while the notifications pour in,
and again while the resolutions do; a client whose post got no answer posts it again after the
restart (re-posting a firing alert only touches it). In the end each alert's firing and its
resolution arrived, each under exactly one key, and a key arrived more than once only for a
notification that was out when the server died (at least once, with an idempotency key).
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Server, issue_token
from tests.http_server import local_http_server
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.testing.grid import Grid, write_grid_config
from tocsin.testing.postgres import create_database, free_port

ALERTS = 2_000
SYSTEM = system_principal("test")
BATCH = 64
DEADLINE_S = 120.0


@dataclass
class Sink:
    """Records (key, alert id, status) of every notification; kills the server once it has
    received `kill_after` notifications (then no more until re-armed)."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    requests: int = 0
    kill_after: int | None = None
    victim: subprocess.Popen[bytes] | None = None
    killed: list[str] = field(default_factory=list)  # keys of the requests that killed
    kills_done: int = 0  # kills whose victim has exited
    cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, key: str, body: dict[str, Any]) -> bool:
        """Keep a notification; True when this one must kill the server before answering."""
        with self.cond:
            self.requests += 1
            for alert in body.get("alerts", []):
                self.seen.append((key, alert["labels"]["id"], alert["status"]))
            self.cond.notify_all()
            if self.kill_after is not None and self.requests >= self.kill_after:
                self.kill_after = None
                self.killed.append(key)
                return True
        return False

    def ids(self, status: str) -> set[str]:
        """Alert ids notified with this status."""
        with self.cond:
            return {i for _, i, s in self.seen if s == status}

    def wait_killed(self, count: int) -> bool:
        """Block until the sink has killed the server `count` times (or the deadline)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.kills_done >= count, DEADLINE_S)

    def kill(self) -> None:
        """SIGKILL the victim and wait until it is gone."""
        if self.victim is not None:
            self.victim.send_signal(signal.SIGKILL)
            self.victim.wait()
        with self.cond:
            self.kills_done += 1
            self.cond.notify_all()

    def wait_for(self, status: str, count: int) -> bool:
        """Block until `count` alerts were notified with `status` (or the deadline)."""
        with self.cond:
            return self.cond.wait_for(
                lambda: len({i for _, i, s in self.seen if s == status}) >= count, DEADLINE_S
            )


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    """A running sink and its URL."""
    s = Sink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if s.record(self.headers["Idempotency-Key"], body):
                s.kill()
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *_: Any) -> None:
            return

    with local_http_server(Handler) as port:
        yield s, f"http://127.0.0.1:{port}/hook"


def _alerts(grid: Grid, *, resolved: bool) -> list[list[dict[str, Any]]]:
    """The storm's alerts in posts of BATCH (resolved: with an end in the past)."""
    start = "2026-03-02T08:00:00Z"
    ends = datetime.now(UTC).isoformat() if resolved else None
    alerts = [
        {
            "labels": {
                "alertname": "Storm",
                "id": f"a{i}",
                "region": grid.cell_code(i),
                "domain": "natural.flood",
                "severity": "warning",
            },
            "startsAt": start,
            **({"endsAt": ends} if ends else {}),
        }
        for i in range(ALERTS)
    ]
    return [alerts[i : i + BATCH] for i in range(0, len(alerts), BATCH)]


def _post_all(server: Server, token: str, posts: list[list[dict[str, Any]]]) -> int:
    """Post every batch on 8 connections; a post without an answer (the server died) is posted
    again once the server runs again. Returns how many posts needed a second try."""
    retried = 0
    lock = threading.Lock()

    def post(batch: list[dict[str, Any]]) -> None:
        nonlocal retried
        first = True
        while True:
            try:
                answer = httpx.post(
                    server.url + "/api/v2/alerts",
                    json=batch,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                if answer.status_code == 200:
                    assert answer.json()["accepted"] == len(batch)
                    return
            except httpx.HTTPError:
                pass
            if first:
                with lock:
                    retried += 1
                first = False
            with lock:
                if not server.alive:
                    server.start()
            time.sleep(0.1)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, posts))
    return retried


@pytest.mark.slow
@pytest.mark.sampled(1)  # one database a run, chosen by the seed
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_in_a_storm_loses_no_alert_and_never_changes_a_key(
    tmp_path: Path, sink: tuple[Sink, str], database: str, request: pytest.FixtureRequest
) -> None:
    receiver, url = sink
    grid = Grid(cells=ALERTS, per_district=250)
    routes = {
        "route": {
            "receiver": "sink",
            "group_by": ["id"],
            "group_wait_s": 0,
            "group_interval_s": 1,
        },
        "receivers": [{"name": "sink", "webhooks": [{"url": url, "format": "alertmanager"}]}],
    }
    config = write_grid_config(tmp_path / "config", grid, routes=routes)
    if database == "sqlite":
        db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    else:
        db = create_database(request.getfixturevalue("pg_server"), "storm_kill")
    token = issue_token(db, config)
    env = {
        "TOCSIN_DISPATCH_INTERVAL_S": "0.05",
        "TOCSIN_NOTIFY_LEASE_S": "2",
        "TOCSIN_LEASE_S": "2",
    }
    server = Server(db, config, tmp_path / "serve.log", env=env, port=free_port())
    try:
        # the storm: the sink kills the server once 500 notifications have come
        receiver.victim = server.start()
        receiver.kill_after = 500
        _post_all(server, token, _alerts(grid, resolved=False))
        # every post may have been answered before the 500th notification: wait for the kill
        assert receiver.wait_killed(1), _state(db, receiver, "firing")
        if not server.alive:
            receiver.victim = server.start()
        assert receiver.wait_for("firing", ALERTS), _state(db, receiver, "firing")
        # all resolved: killed again after 300 more notifications
        receiver.kill_after = receiver.requests + 300
        receiver.victim = server.process
        _post_all(server, token, _alerts(grid, resolved=True))
        assert receiver.wait_killed(2), _state(db, receiver, "resolved")
        if not server.alive:
            receiver.victim = server.start()
        assert receiver.wait_for("resolved", ALERTS), _state(db, receiver, "resolved")
        threading.Event().wait(2)  # nothing more may come
    finally:
        server.kill()
    assert len(receiver.killed) == 2  # both kills happened, each during a delivery
    expected = {f"a{i}" for i in range(ALERTS)}
    assert receiver.ids("firing") == expected
    assert receiver.ids("resolved") == expected
    keys: dict[tuple[str, str], set[str]] = {}
    for key, ident, status in receiver.seen:
        keys.setdefault((ident, status), set()).add(key)
    assert {k: v for k, v in keys.items() if len(v) != 1} == {}  # one key per notification
    with receiver.cond:
        arrivals = [key for key, _, _ in receiver.seen]
    repeated = {k for k in set(arrivals) if arrivals.count(k) > 1}
    assert set(receiver.killed) <= repeated  # the deliveries cut by a kill came again
    assert len(arrivals) - len(set(arrivals)) <= 2 * 128  # only what was out at a kill


def _state(db: str, receiver: Sink, status: str) -> str:
    """What the database holds, for a failure's message."""
    container = build(Settings(database_url=db, background_workers=False))
    try:
        log = container.dispatcher.notification_log(limit=100_000, principal=SYSTEM)
        counts = container.warnings.counts(open_only=False, principal=SYSTEM)
    finally:
        container.close()
    statuses: dict[str, int] = {}
    for n in log:
        statuses[n.status.value] = statuses.get(n.status.value, 0) + 1
    return (
        f"{len(receiver.ids(status))} of {ALERTS} {status} at the sink; outbox {statuses}; "
        f"warnings {counts}"
    )

"""A scan as an outsider would run it: a unit's webhook carries a password, a path token and a
query token, and units have e-mail addresses; a warning is notified, the receiver answers 500
(echoing what it was sent), and every API response and every log line of the run is searched
for any of them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from tests.http_server import local_http_server
from tocsin.api.app import create_app
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.testing.clock import FakeClock
from tocsin.testing.logs import captured_log
from tocsin.testing.scenario import small_config, write_small_config

SECRETS = ("Hunter2Secret", "T0K3N", "abc123", "nat@", "p1@", "d11@")


class _Echo(BaseHTTPRequestHandler):
    """A receiver that fails and repeats the request line and headers in its answer."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        told = f"{self.path} {self.headers.get('Authorization', '')}".encode()
        self.seen.append(self.path)
        self.send_response(500)
        self.send_header("Content-Length", str(len(told)))
        self.end_headers()
        self.wfile.write(told)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[str]:
    with local_http_server(_Echo) as port:
        yield f"http://relay:Hunter2Secret@127.0.0.1:{port}/hooks/T0K3N?token=abc123"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, by Tocsin and every library, down to DEBUG (as a
    deployment that logs verbosely would see it), with Tocsin's logging set up as `tocsin
    serve` sets it up."""
    with captured_log() as out:
        yield out


def test_no_response_and_no_log_line_holds_a_credential_or_an_address(
    sqlite_url: str, tmp_path: Path, receiver: str, log_lines: io.StringIO
) -> None:
    docs = small_config()
    for unit in docs["units.yaml"]["units"]:
        unit["webhook_url"] = receiver
    clock = FakeClock()
    settings = Settings(database_url=sqlite_url, config_dir=write_small_config(tmp_path, **docs))
    container = build(settings, clock=clock)
    try:
        container.admin.add_user("ada", Role.ADMIN, unit=None, actor="test")
        token = container.access.issue("ada", TokenRequest("scan"), actor="test")[1]
        client = TestClient(create_app(container), headers={"Authorization": f"Bearer {token}"})
        rain = {"indicator": "P1.rainfall", "time": 1_767_225_600, "value": 70.0}
        assert client.post("/api/v1/observations", json={"observations": [rain]}).status_code
        container.leases.dispatch.require()  # only the owner dispatches
        for later in (1, 40, 400):
            container.dispatcher.tick(clock.now() + timedelta(seconds=later))
        report = container.delivery.run_once(clock.now() + timedelta(seconds=401))
        assert report.retried + report.failed > 0
        assert _Echo.seen, "the receiver was called (and answered 500)"
        shown = [
            client.get(path).text
            for path in (
                "/api/v1/notifications",
                "/api/v1/warnings",
                "/api/v1/regions",
                "/api/v1/users",
                "/api/v1/tokens",
                "/api/v1/silences?state=all",
                "/metrics",
            )
        ]
        warnings = client.get("/api/v1/warnings").json()
        shown += [client.get(f"/api/v1/warnings/{w['id']}/delivery").text for w in warnings]
        shown += [client.get(f"/api/v1/warnings/{w['id']}/history").text for w in warnings]
        errors = [n["last_error"] for n in client.get("/api/v1/notifications").json()]
        assert any(errors), "the failed delivery's error is shown"
    finally:
        container.close()
    lines = log_lines.getvalue()
    assert "alembic" in lines  # the capture saw the run's log (its migrations, at least)
    for text in [*shown, lines]:
        for secret in SECRETS:
            assert secret not in text, (secret, text[:300])

"""`tocsin serve` with TOCSIN_SYSLOG_LISTEN: util-linux `logger` sends CEF alerts over UDP and
TCP; the server is killed with SIGKILL and restarted, and listens again on the same addresses
(SO_REUSEADDR) and stores what arrives after the restart. A real subprocess, real sockets, real
time bounded by deadlines only (tests/e2e/harness.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import DEADLINE_S, Server, free_port
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing.scenario import exposure_config, write_small_config

ENV = {"TOCSIN_LEASE_S": "1", "TOCSIN_DISPATCH_INTERVAL_S": "0.1"}


def _send(port: int, flag: str, external_id: str, *, line: str | None = None) -> None:
    line = line or f"CEF:0|Example|IDS|1.0|42|Test alert|5|dvchost=hmi-01 externalId={external_id}"
    cmd = ["logger", "--server", "127.0.0.1", "--port", str(port), flag, "--rfc5424", line]
    subprocess.run(cmd, check=False, timeout=30, capture_output=True)


def _stored(db: str, config: Path) -> set[str]:
    container = build(Settings(database_url=db, config_dir=config))
    try:
        with container.store.transaction() as tx:
            return {e.event.external_id for e in tx.events.newest(limit=1000)}
    finally:
        container.close()


def _send_until_stored(server: Server, port: int, flag: str, external_id: str) -> None:
    """A sender that repeats an alert until it is stored (the id makes repeats harmless): a
    restarted server stands by until the killed one's lease runs out."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        _send(port, flag, external_id)
        time.sleep(0.5)
        if external_id in _stored(server.db, server.config or Path()):
            return
    raise AssertionError(f"{external_id} not stored: " + server.log_text()[-3000:])


@pytest.mark.slow
@pytest.mark.sampled(1)  # one database a run, chosen by the seed
def test_the_syslog_listener_survives_a_kill_and_restart(db_url: str, tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config", **exposure_config())
    build(Settings(database_url=db_url, config_dir=config)).close()
    udp, tcp = free_port(), free_port()
    env = {**ENV, "TOCSIN_SYSLOG_LISTEN": f"udp://127.0.0.1:{udp},tcp://127.0.0.1:{tcp}"}
    server = Server(db_url, config, tmp_path / "serve.log", env=env)
    try:
        server.start()
        _send_until_stored(server, udp, "--udp", "before-kill-udp")
        _send(udp, "--udp", "", line="no alert in here")  # said in the log, never a traceback
        _send_until_stored(server, tcp, "--tcp", "before-kill-tcp")
        server.kill()
        server.start()
        _send_until_stored(server, udp, "--udp", "after-restart-udp")
        _send_until_stored(server, tcp, "--tcp", "after-restart-tcp")
    finally:
        server.stop()
    log = server.log_text()
    assert "header: no CEF:Version|Vendor|Product|Version|Class|Name|Severity|" in log
    assert "Traceback" not in log

"""SIGKILL `tocsin serve` while many clients write at once (group commits, SQLite's inbox):
every observation acknowledged before the kill is stored after it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Server, issue_token
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

CLIENTS = 8
PER_REQUEST = 5
T0 = 1_780_000_000
CODES = ("D11.river_level", "D12.river_level", "D21.reservoir")


def _client(
    server: Server, token: str, number: int, acked: list[tuple[str, int]], stop: threading.Event
) -> None:
    """Post batches of new keys until the server is gone; note each acknowledged row."""
    request = 0
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            keys = [
                (
                    CODES[(request + j) % len(CODES)],
                    T0 + (request * PER_REQUEST + j) * CLIENTS + number,
                )
                for j in range(PER_REQUEST)
            ]
            rows = [{"indicator": code, "time": at, "value": 1.0} for code, at in keys]
            try:
                answer = client.post(
                    server.url + "/api/v1/observations",
                    json={"observations": rows},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError:
                return  # the server died
            if answer.status_code == 202:
                acked.extend(keys)
            request += 1


@pytest.mark.slow
def test_a_kill_under_concurrent_writes_loses_no_acknowledged_observation(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'tocsin.db'}"
    build(Settings(database_url=db, config_dir=config)).close()
    token = issue_token(db)
    server = Server(db, config, tmp_path / "serve.log")
    server.start()
    acked: list[tuple[str, int]] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_client, args=(server, token, n, acked, stop))
        for n in range(CLIENTS)
    ]
    try:
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acked) < 2_000 and time.monotonic() < deadline:
            threading.Event().wait(0.05)
        server.kill()  # mid-load: some requests are queued, some in a commit
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        server.kill()
    after = build(Settings(database_url=db, config_dir=config))
    try:
        with after.store.transaction() as tx:
            stored = {
                (code, int(t))
                for code in CODES
                for t in tx.observations.read(after.rules.ids[code], limit=1_000_000).times
            }
    finally:
        after.close()
    assert len(acked) >= 2_000
    missing = set(acked) - stored
    assert missing == set()
    assert len(stored) - len(set(acked)) <= CLIENTS * PER_REQUEST  # at most the unanswered ones

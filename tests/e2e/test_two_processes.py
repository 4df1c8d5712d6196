"""The two-process deployment docs/warnings.md describes: `tocsin serve` with its background
workers off takes the alerts, `tocsin notify run` beside it dispatches and delivers them.

Both start at the same moment on a fresh database (they migrate it and store the catalogue
in turn). `notify run` is given a 30 s timer, so an alert reaches the webhook quickly only
because the process watches for transitions the other one committed (`--watch`): an alert
posted to serve arrives within a few seconds, then its resolution. With a group wait of 2 s
it arrives after the wait and not at the timer: the dispatcher sleeps until the group is due."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import CLI, Server, issue_token, running_sink
from tocsin.testing import processes
from tocsin.testing.grid import Grid, write_grid_config
from tocsin.testing.postgres import create_database, free_port

ARRIVE_S = 5.0  # the timer alone would take up to 30 s


def _alert(ident: str, grid: Grid, *, ends: str | None = None) -> dict[str, object]:
    labels = {"alertname": "Gauge", "id": ident, "region": grid.cell_code(0)}
    body: dict[str, object] = {
        "labels": {**labels, "domain": "natural.flood", "severity": "critical"},
        "startsAt": "2026-03-02T08:00:00Z",
    }
    return body | ({"endsAt": ends} if ends else {})


@pytest.mark.parametrize(
    ("database", "group_wait_s"),
    [
        ("sqlite", 0.0),
        pytest.param("postgres", 0.0, marks=pytest.mark.postgres),
        ("sqlite", 2.0),  # the dispatcher sleeps until the group is due, not the 30 s timer
    ],
)
def test_serve_and_notify_run_side_by_side_deliver_within_seconds(
    tmp_path: Path, database: str, group_wait_s: float, request: pytest.FixtureRequest
) -> None:
    grid = Grid(cells=10, per_district=5)
    with running_sink() as sink:
        routes = {
            "route": {
                "receiver": "sink",
                "group_by": ["id"],
                "group_wait_s": group_wait_s,
                "group_interval_s": 0.01,  # the resolution is due at once, not at a timer
            },
            "receivers": [
                {"name": "sink", "webhooks": [{"url": sink.url, "format": "alertmanager"}]}
            ],
        }
        config = write_grid_config(tmp_path / "config", grid, routes=routes)
        if database == "sqlite":
            db = f"sqlite:///{tmp_path / 'tocsin.db'}"
        else:
            db = create_database(request.getfixturevalue("pg_server"), "two_processes")
        env = {"TOCSIN_BACKGROUND_WORKERS": "false"}
        server = Server(db, config, tmp_path / "serve.log", env=env, port=free_port())
        notify_log = tmp_path / "notify.log"
        with notify_log.open("ab") as out:
            notify = subprocess.Popen(
                [*CLI, "notify", "run", "--db", db, "--config", str(config), "--interval", "30"],
                stdout=out,
                stderr=out,
            )
        try:
            server.start()
            token = issue_token(db, config)
            time.sleep(1.0)  # notify run is up and holds the dispatch lease
            assert notify.poll() is None, notify_log.read_text()[-2000:]
            posted = time.monotonic()
            answer = server.post("/api/v2/alerts", [_alert("g1", grid)], token)
            assert answer.status_code == 200, answer.text
            assert sink.wait_for(lambda got: len(got) >= 1, ARRIVE_S * 3), notify_log.read_text()
            took = time.monotonic() - posted
            (first,) = sink.snapshot()
            assert first.body["alerts"][0]["status"] == "firing"
            assert group_wait_s <= took < group_wait_s + ARRIVE_S, f"{took:.1f} s to the webhook"
            ended = "2026-03-02T09:00:00Z"
            answer = server.post("/api/v2/alerts", [_alert("g1", grid, ends=ended)], token)
            assert answer.status_code == 200, answer.text
            assert sink.wait_for(lambda got: len(got) >= 2, ARRIVE_S), notify_log.read_text()
            assert sink.snapshot()[1].body["alerts"][0]["status"] == "resolved"
        finally:
            server.stop()
            processes.stop(notify)

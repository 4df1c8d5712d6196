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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import CLI, Server, Sink, issue_token, running_sink
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


def _notify(db: str, config: Path, log: Path, *, work: str) -> subprocess.Popen[bytes]:
    """`tocsin notify run --work WORK`, up once it says so."""
    cmd = [*CLI, "notify", "run", "--db", db, "--config", str(config), "--work", work]
    with log.open("ab") as out:
        proc = subprocess.Popen([*cmd, "--interval", "0.2"], stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while "notify run started" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "notify run did not start"
        time.sleep(0.05)
    return proc


@pytest.mark.postgres
def test_a_dispatch_only_process_leaves_the_outbox_to_delivery_processes_that_share_it(
    tmp_path: Path, pg_server: str
) -> None:
    """`notify run --work dispatch` writes notifications and sends none; two `--work deliver`
    processes send them, each exactly once, between them (outbox rows claimed with SKIP
    LOCKED)."""
    grid = Grid(cells=10, per_district=5)
    with running_sink() as sink:
        routes = {
            "route": {"receiver": "sink", "group_by": ["id"], "group_wait_s": 0},
            "receivers": [
                {"name": "sink", "webhooks": [{"url": sink.url, "format": "alertmanager"}]}
            ],
        }
        config = write_grid_config(tmp_path / "config", grid, routes=routes)
        db = create_database(pg_server, "delivery_processes")
        env = {"TOCSIN_BACKGROUND_WORKERS": "false"}
        server = Server(db, config, tmp_path / "serve.log", env=env, port=free_port())
        procs: list[subprocess.Popen[bytes]] = []
        try:
            server.start()
            token = issue_token(db, config)
            procs.append(_notify(db, config, tmp_path / "dispatch.log", work="dispatch"))
            answer = server.post("/api/v2/alerts", [_alert("first", grid)], token)
            assert answer.status_code == 200, answer.text
            assert not sink.wait_for(lambda got: len(got) > 0, 3.0)  # written, not sent
            for i in range(2):
                procs.append(_notify(db, config, tmp_path / f"deliver{i}.log", work="deliver"))
            assert sink.wait_for(lambda got: len(got) >= 1, ARRIVE_S)
            idents = [f"a{i}" for i in range(30)]
            answer = server.post("/api/v2/alerts", [_alert(i, grid) for i in idents], token)
            assert answer.status_code == 200, answer.text
            assert sink.wait_for(lambda got: len(got) >= 31, ARRIVE_S * 2)
            time.sleep(1.0)  # anything sent twice would arrive by now
            got = sink.snapshot()
            keys = [r.key for r in got]
            assert len(keys) == len(set(keys)) == 31
            named = sorted(r.body["alerts"][0]["labels"]["id"] for r in got)
            assert named == sorted(["first", *idents])
        finally:
            server.stop()
            for proc in procs:
                processes.stop(proc)


def test_an_alert_not_posted_again_before_its_ends_at_is_resolved_even_across_a_restart(
    tmp_path: Path,
) -> None:
    """Prometheus re-sends a firing alert with an `endsAt` a few intervals ahead; when it stops
    (killed, or its rule deleted), Alertmanager resolves the alert at that `endsAt`. So does
    Tocsin, in the two-process setup (`serve`, which receives the posts, lifts the warning; the
    sink gets its resolution), while an alert re-sent in time stays firing — also when `serve`
    is SIGKILLed and is down past the alert's `endsAt`: nobody could receive its re-sends, so it
    has not ended (`notify run` lives on and must not resolve it)."""
    grid = Grid(cells=10, per_district=5)
    with running_sink() as sink:
        routes = {
            "route": {
                "receiver": "sink",
                "group_by": ["id"],
                "group_wait_s": 0,
                "group_interval_s": 0.01,
            },
            "receivers": [
                {"name": "sink", "webhooks": [{"url": sink.url, "format": "alertmanager"}]}
            ],
        }
        config = write_grid_config(tmp_path / "config", grid, routes=routes)
        db = f"sqlite:///{tmp_path / 'tocsin.db'}"
        env = {"TOCSIN_BACKGROUND_WORKERS": "false", "TOCSIN_LEASE_S": "2"}
        server = Server(db, config, tmp_path / "serve.log", env=env, port=free_port())
        notify = None
        try:
            server.start()
            token = issue_token(db, config)
            notify = _notify(db, config, tmp_path / "notify.log", work="all")

            def post(ident: str) -> None:
                ends = datetime.now(UTC) + timedelta(seconds=2)
                alert = _alert(ident, grid, ends=ends.isoformat())
                answer = server.post("/api/v2/alerts", [alert], token)
                assert answer.status_code == 200, answer.text

            def resend_kept_for(seconds: float) -> None:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline and not _statuses(sink, "stops")[1:]:
                    post("kept")  # re-sent each second, as Prometheus re-sends a firing alert
                    time.sleep(1.0)

            post("stops")
            resend_kept_for(25)  # its end (2 s), then the expiry's rounds (5 s each)
            assert _statuses(sink, "stops") == ["firing", "resolved"]
            assert set(_statuses(sink, "kept")) == {"firing"}
            server.kill()
            time.sleep(4.0)  # "kept" is past its endsAt while nobody receives its re-sends
            server.start()
            resend_kept_for(12)  # two expiry rounds after the restart
            assert set(_statuses(sink, "kept")) == {"firing"}
        finally:
            server.stop()
            processes.stop(notify)


def _statuses(sink: Sink, ident: str) -> list[str]:
    """The statuses the sink received for one alert, in order."""
    return [
        alert["status"]
        for got in sink.snapshot()
        for alert in got.body["alerts"]
        if alert["labels"]["id"] == ident
    ]

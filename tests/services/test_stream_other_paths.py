"""The other ways observations come in, in the API role (on a real NATS JetStream server and a
real database): security alerts' counts and `tocsin ingest` files go through the stream to the
workers, which own the indicators' rules, instead of being evaluated in the process that took
them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.services.test_exposure import FIXTURES
from tocsin.adapters.security_alert_formats import parse_alerts
from tocsin.bootstrap import Container, build
from tocsin.bootstrap_worker import Worker, build_worker
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.security_alerts import AlertFormat
from tocsin.services.alert_receiver import EXPIRY_ACTOR, PrometheusAlert
from tocsin.services.background import Work, start_background
from tocsin.testing.clock import FakeClock
from tocsin.testing.nats import NatsServer
from tocsin.testing.replay import clean_replay, stored_observations, stored_transitions
from tocsin.testing.scenario import exposure_config, write_small_config

NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
TEN = int(datetime(2026, 3, 1, 10, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def settings(db_url: str, tmp_path: Path, nats: NatsServer) -> Settings:
    return Settings(
        database_url=db_url,
        config_dir=write_small_config(tmp_path / "config", **exposure_config()),
        stream_url=nats.url,
        stream_partitions=4,
        background_workers=False,
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Container]:
    container = build(settings.model_copy(update={"role": "api"}), clock=FakeClock(NOW))
    yield container
    container.close()


@pytest.fixture
def worker(settings: Settings, api: Container) -> Iterator[Worker]:
    role = build_worker(settings, partitions=tuple(range(4)))
    role.loop.resume()
    yield role
    role.close()


def _drain(worker: Worker) -> int:
    total = 0
    while (done := worker.loop.run_once()) > 0:
        total += done
    return total


def test_security_alert_counts_go_to_the_workers_once_even_when_sent_twice(
    api: Container, worker: Worker, settings: Settings
) -> None:
    alerts = parse_alerts(
        AlertFormat.WAZUH, (FIXTURES / "wazuh.jsonl").read_text(), received_at=NOW
    )
    first = api.security_alerts.receive(alerts, principal=system_principal("t"))
    assert (first.stored, first.observations) == (2, 1)
    with api.store.transaction() as tx:
        assert tx.observations.count() == 0  # not evaluated here: appended for the workers
    again = api.security_alerts.receive(alerts, principal=system_principal("t"))
    assert (again.stored, again.observations) == (0, 1)  # the events once, the count again
    assert _drain(worker) == 1  # the same count, the same message id: the stream kept one
    alone = build(
        Settings(database_url="memory://", config_dir=settings.config_dir), clock=FakeClock(NOW)
    )
    try:  # one process, the same delivery
        alone.security_alerts.receive(alerts, principal=system_principal("t"))
        expected = stored_observations(alone)
    finally:
        alone.close()
    assert expected == {"SUB.security_alerts": ([TEN + 40], [2.0])}  # its newest alert's second
    assert stored_observations(worker.container) == expected  # stored once, as one process
    assert stored_transitions(worker.container) == clean_replay(worker.container)


def test_tocsin_ingest_in_the_api_role_appends_the_file_for_the_workers(
    settings: Settings, worker: Worker, tmp_path: Path
) -> None:
    env = {
        "TOCSIN_ROLE": "api",
        "TOCSIN_STREAM_URL": settings.stream_url,
        "TOCSIN_STREAM_PARTITIONS": "4",
        "TOCSIN_ENV": "dev",
    }
    db = settings.database_url
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "indicator,time,value\n"
        "D11.river_level,2026-03-01T09:00:00Z,2.5\n"
        "D11.river_level,2026-03-01T09:10:00Z,5.5\n"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(rows), "--db", db], env=env)
    assert result.exit_code == 0, result.output
    assert '"appended": 2' in result.output
    future = tmp_path / "future.csv"
    future.write_text("indicator,time,value\nD11.river_level,2099-01-01T00:00:00Z,1.0\n")
    refused = runner.invoke(app, ["ingest", str(future), "--db", db], env=env)
    assert refused.exit_code != 0
    assert "future.csv:2" in refused.output  # named by file and line; nothing appended
    assert _drain(worker) >= 1
    stored = stored_observations(worker.container)
    assert stored["D11.river_level"][1] == [2.5, 5.5]
    transitions = stored_transitions(worker.container)
    assert [t[1:3] for t in transitions] == [
        ("warning.raised", "blue"),
        ("warning.upgraded", "red"),
    ]
    assert transitions == clean_replay(worker.container)


def test_in_the_api_role_the_schedule_owner_lifts_alerts_past_their_end(
    settings: Settings,
) -> None:
    # the API processes receive Prometheus's posts and none holds the rules lease: the
    # holder of the schedule lease (here a `notify run`-like process) lifts them
    api = build(settings.model_copy(update={"role": "api"}))
    on = settings.model_copy(update={"role": "api", "background_workers": True})
    scheduler = build(on)
    stop = start_background(scheduler, work=frozenset({Work.SCHEDULE}), ingests=False)
    try:
        alert = PrometheusAlert(
            {"alertname": "GaugeHigh", "region": "D11", "domain": "natural.flood"},
            starts_at=None,
            ends_at=datetime.now(UTC) + timedelta(seconds=2),
        )
        assert api.alert_receiver.receive([alert], principal=system_principal("p")).accepted == 1
        assert _open_alerts(api)
        deadline = time.monotonic() + 60  # checked every 5 s
        while _open_alerts(api) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _open_alerts(api)
        with api.store.transaction() as tx:
            actors = [r.actor for r in tx.audit.trail("warning", _lifted(api))]
        assert actors[-1] == EXPIRY_ACTOR
    finally:
        stop()
        scheduler.close()
        api.close()


def _open_alerts(container: Container) -> list[str]:
    found = container.warnings.find(principal=system_principal("t"), open_only=True)
    return [w.id for w in found if w.source == "prometheus"]


def _lifted(container: Container) -> str:
    found = container.warnings.find(principal=system_principal("t"), open_only=False)
    return next(w.id for w in found if w.source == "prometheus")

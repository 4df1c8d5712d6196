"""Prometheus alerts end at their endsAt, as in Alertmanager: a warning whose alert is not posted
again before its `endsAt` (or, with no `endsAt`, within the resolve timeout) is lifted, so a
Prometheus that stops, or a rule that is deleted, leaves no warning open for ever. A re-send
moves the end on; a re-send with a longer span keeps the longer one; a post that lands between
the expiry's read and its commit keeps its warning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.services.alert_receiver import (
    EXPIRY_ACTOR,
    RESOLVE_TIMEOUT,
    PrometheusAlert,
    _Post,
    alert_fingerprint,
)
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_config, write_small_config

SYSTEM = system_principal("prometheus")
LABELS = {"alertname": "GaugeHigh", "region": "D11", "domain": "natural.flood"}


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[tuple[Container, FakeClock]]:
    clock = FakeClock()
    settings = Settings(
        database_url=db_url,
        config_dir=write_small_config(tmp_path / "config", **small_config()),
        background_workers=False,
    )
    container = build(settings, clock=clock)
    try:
        yield container, clock
    finally:
        container.close()


def _post(container: Container, *, ends_at: datetime | None) -> None:
    alert = PrometheusAlert(LABELS, starts_at=None, ends_at=ends_at)
    assert container.alert_receiver.receive([alert], principal=SYSTEM).accepted == 1


def _open(container: Container) -> list[str]:
    return [w.id for w in container.warnings.find(principal=SYSTEM, open_only=True)]


def test_a_firing_alert_ends_at_its_ends_at_unless_posted_again(
    world: tuple[Container, FakeClock],
) -> None:
    container, clock = world
    receiver = container.alert_receiver
    _post(container, ends_at=clock.now() + timedelta(seconds=60))  # Prometheus: 4 intervals on
    (first,) = _open(container)
    clock.advance(timedelta(seconds=30))
    _post(container, ends_at=clock.now() + timedelta(seconds=60))  # the re-send moves it on
    clock.advance(timedelta(seconds=45))  # 75 s after the first post, 45 s after the last
    assert receiver.expire() == 0
    assert _open(container) == [first]
    clock.advance(timedelta(seconds=16))  # 61 s after the last post: Prometheus stopped
    assert receiver.expire() == 1
    assert _open(container) == []
    history = container.warnings.history(first, principal=SYSTEM)
    assert [h.kind for h in history][-1] == "warning.lifted"
    assert "not posted again before its endsAt" in history[-1].reason
    assert history[-1].actor == EXPIRY_ACTOR
    assert receiver.expire() == 0  # nothing left to lift
    # firing again later is a new warning
    _post(container, ends_at=clock.now() + timedelta(seconds=60))
    (again,) = _open(container)
    assert again != first


def test_without_ends_at_it_holds_for_the_resolve_timeout(
    world: tuple[Container, FakeClock],
) -> None:
    container, clock = world
    _post(container, ends_at=None)
    clock.advance(RESOLVE_TIMEOUT - timedelta(seconds=1))
    assert container.alert_receiver.expire() == 0
    clock.advance(timedelta(seconds=2))
    assert container.alert_receiver.expire() == 1


def test_a_re_send_with_a_longer_span_keeps_the_longer_one(
    world: tuple[Container, FakeClock],
) -> None:
    container, clock = world
    _post(container, ends_at=clock.now() + timedelta(seconds=60))
    clock.advance(timedelta(seconds=30))
    _post(container, ends_at=clock.now() + timedelta(hours=1))  # e.g. amtool --end in an hour
    clock.advance(timedelta(seconds=200))  # past the first span: still firing
    assert container.alert_receiver.expire() == 0
    assert len(_open(container)) == 1
    clock.advance(timedelta(hours=1))
    assert container.alert_receiver.expire() == 1


def test_a_post_between_the_expiry_read_and_its_commit_keeps_the_warning(
    world: tuple[Container, FakeClock],
) -> None:
    container, clock = world
    _post(container, ends_at=clock.now() + timedelta(seconds=60))
    clock.advance(timedelta(seconds=61))  # ended, as the expiry reads it ...
    fp = alert_fingerprint(LABELS)
    _post(container, ends_at=clock.now() + timedelta(seconds=60))  # ... then posted again
    # the expiry's commit, with the fingerprint it read as ended: checked again, kept
    assert container.alert_receiver.commits.submit(_Post((), EXPIRY_ACTOR, (fp,), None)) == []
    assert len(_open(container)) == 1


def test_spans_count_from_when_the_process_began_receiving(
    world: tuple[Container, FakeClock],
) -> None:
    # the server was down (killed, restarting) past the alert's end: the sender could not
    # re-send it, so it has a whole span from the restart
    container, clock = world
    _post(container, ends_at=clock.now() + timedelta(seconds=60))
    restarted = clock.advance(timedelta(seconds=100))
    clock.advance(timedelta(seconds=30))
    assert container.alert_receiver.expire(since=restarted) == 0
    assert len(_open(container)) == 1
    clock.advance(timedelta(seconds=31))  # 61 s after the restart, not posted again
    assert container.alert_receiver.expire(since=restarted) == 1

"""Stale sources on a fake clock: a "source silent" warning after the configured number of
cadences without an observation, lifted when data returns, unchanged by a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import NotOwner
from tocsin.core.levels import Level
from tocsin.core.warnings.model import EventKind, WarningState
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

T = datetime(2026, 1, 1, tzinfo=UTC)
CADENCE = timedelta(seconds=600)  # D11 and D12 river levels in the small configuration

SYSTEM = system_principal("test")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = write_small_config(tmp_path / "config")
    silence = {"silence": {"after_cadences": 3, "level": "orange"}}
    (directory / "sources.yaml").write_text(yaml.safe_dump(silence), encoding="utf-8")
    return directory


def _container(db_url: str, config: Path, clock: FakeClock) -> Container:
    return build(Settings(database_url=db_url, config_dir=config), clock=clock)


def _observe(container: Container, code: str, at: datetime) -> None:
    """An observation at `at`, the clock first brought up to it (times later than the clock
    are refused)."""
    clock = container.clock
    assert isinstance(clock, FakeClock)
    clock.set(max(clock.now(), at))
    raw = RawObservations([code], np.array([int(at.timestamp())]), np.array([1.0]))
    container.ingest.ingest(raw, principal=SYSTEM)


def _open_silent(container: Container) -> dict[str, tuple[Level, str]]:
    warnings = container.warnings.find(open_only=True, principal=SYSTEM)
    return {w.subject: (w.level, w.region) for w in warnings if w.source == "staleness"}


def test_a_silent_source_raises_once_and_lifts_when_data_returns(db_url: str, config: Path) -> None:
    clock = FakeClock(T)
    container = _container(db_url, config, clock)
    _observe(container, "D11.river_level", T)
    _observe(container, "D12.river_level", T + 2 * CADENCE)
    assert container.silence.check(T + 3 * CADENCE) == []  # exactly 3 cadences: not yet
    events = container.silence.check(T + 3 * CADENCE + timedelta(seconds=1))
    assert [(e.kind, e.to_level) for e in events] == [(EventKind.RAISED, Level.ORANGE)]
    assert "no observation of D11.river_level for 30 min" in events[0].reason
    assert _open_silent(container) == {"D11.river_level": (Level.ORANGE, "D11")}
    assert container.silence.check(T + 4 * CADENCE) == []  # still silent: nothing new
    # D12 falls silent too; D21 (no cadence) and never-observed indicators are not checked
    later = container.silence.check(T + 6 * CADENCE)
    assert [e.kind for e in later] == [EventKind.RAISED]
    assert set(_open_silent(container)) == {"D11.river_level", "D12.river_level"}
    _observe(container, "D11.river_level", T + 7 * CADENCE)
    lifted = container.silence.check(T + 7 * CADENCE + timedelta(seconds=5))
    assert [(e.kind, e.to_state) for e in lifted] == [(EventKind.LIFTED, WarningState.LIFTED)]
    assert set(_open_silent(container)) == {"D12.river_level"}
    container.close()


def test_a_restart_neither_repeats_nor_forgets_a_silent_source(db_url: str, config: Path) -> None:
    clock = FakeClock(T)
    first = _container(db_url, config, clock)
    _observe(first, "D11.river_level", T)
    assert len(first.silence.check(T + 4 * CADENCE)) == 1
    first.close()
    again = _container(db_url, config, clock)  # the newest times and open warnings: stored
    assert again.silence.check(T + 5 * CADENCE) == []
    assert set(_open_silent(again)) == {"D11.river_level"}
    _observe(again, "D11.river_level", T + 5 * CADENCE)
    assert [e.kind for e in again.silence.check(T + 5 * CADENCE)] == [EventKind.LIFTED]
    again.close()


def test_only_the_owner_of_the_rules_checks_a_standby_writes_nothing(
    db_url: str, config: Path
) -> None:
    """With two processes on one database, the standby's newest times in memory are stale:
    its check must not raise "source silent" for indicators the owner is receiving."""
    clock = FakeClock(T + 10 * CADENCE)
    owner = _container(db_url, config, clock)
    standby = _container(db_url, config, clock)
    try:
        _observe(owner, "D11.river_level", T + 9 * CADENCE)  # the owner takes the lease
        with pytest.raises(NotOwner):
            standby.silence.check(T + 10 * CADENCE)
        assert _open_silent(owner) == {}
        assert owner.silence.check(T + 10 * CADENCE) == []  # observed a cadence ago
        assert [e.kind for e in owner.silence.check(T + 13 * CADENCE)] == [EventKind.RAISED]
    finally:
        standby.close()
        owner.close()

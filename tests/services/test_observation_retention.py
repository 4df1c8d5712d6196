"""Raw observations past their retention are summarised per interval (count, minimum, maximum,
mean) and deleted, or only deleted; a dry run changes nothing; a second run finds nothing; a
late observation joins its interval's summary; warnings, their history and the audit trail are
untouched. On the in-memory store, SQLite and PostgreSQL; the summaries are checked against
numpy over the same values, and read back through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tocsin.api.app import create_app
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput
from tocsin.core.observation_rollups import RollupPolicy
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")
GAUGE = "D11.river_level"
HOUR = 3_600
DAYS = 40  # of observations every 10 minutes, ending now


def _world(store_url: str, tmp_path: Path, **settings: Any) -> tuple[Container, FakeClock]:
    clock = FakeClock()
    config = write_small_config(tmp_path / "config")
    options = {"retain_observations_days": 30, "observation_rollup_s": HOUR, **settings}
    container = build(Settings(database_url=store_url, config_dir=config, **options), clock=clock)
    return container, clock


def _feed(container: Container, clock: FakeClock, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Forty days of a gauge every 10 minutes up to now (a flood in the middle raises and lifts
    a warning); the times and values sent."""
    now = int(clock.now().timestamp())
    times = np.arange(now - DAYS * 86_400, now + 1, 600, dtype=np.int64)
    values = np.random.default_rng(seed).normal(2.0, 0.3, len(times))
    values[len(times) // 8 : len(times) // 8 + 12] = 6.0  # above the gauge's red threshold
    raw = RawObservations([GAUGE] * len(times), times, values)
    container.ingest.ingest(raw, principal=SYSTEM)
    return times, values


def _expected(times: np.ndarray, values: np.ndarray, before: int) -> dict[int, tuple[Any, ...]]:
    """Per hour before the cut-off: count, minimum, maximum, mean (numpy, independently)."""
    old = times < before
    starts = times[old] // HOUR * HOUR
    out = {}
    for start in np.unique(starts):
        chunk = values[old][starts == start]
        out[int(start)] = (len(chunk), chunk.min(), chunk.max(), chunk.mean())
    return out


def test_old_observations_are_summarised_per_hour_and_deleted(
    store_url: str, tmp_path: Path
) -> None:
    container, clock = _world(store_url, tmp_path)
    try:
        times, values = _feed(container, clock, seed=1)
        warnings = container.warnings.find(principal=SYSTEM, open_only=False, limit=10_000)
        assert warnings  # the flood raised a warning 35 days ago
        ident = container.rules.ids[GAUGE]
        dry = container.retention.run(dry_run=True)
        cutoff = dry.observations_before
        assert cutoff is not None
        assert cutoff % HOUR == 0
        assert cutoff <= int(clock.now().timestamp()) - 30 * 86_400 < cutoff + HOUR
        old = int((times < cutoff).sum())
        assert (dry.observations_summarised, dry.observations_deleted) == (old, old)
        with container.store.transaction() as tx:
            assert tx.observations.rollups(ident) == []  # the dry run left nothing
            assert tx.observations.count() == len(times)

        done = container.retention.run()
        assert (done.observations_summarised, done.observations_deleted) == (old, old)
        with container.store.transaction() as tx:
            rollups = tx.observations.rollups(ident)
            kept = tx.observations.read(ident)
            trail = tx.audit.trail("data", "observations")
        expected = _expected(times, values, cutoff)
        assert [r.start for r in rollups] == sorted(expected)
        for r in rollups:
            count, low, high, mean = expected[r.start]
            assert (r.count, r.interval_s) == (count, HOUR)
            assert (r.minimum, r.maximum) == pytest.approx((low, high))
            assert r.mean == pytest.approx(mean)
        assert kept.times.tolist() == times[times >= cutoff].tolist()
        assert [a.details["deleted"] for a in trail] == [old]
        after = container.warnings.find(principal=SYSTEM, open_only=False, limit=10_000)
        assert [(w.id, w.level, w.state) for w in after] == [
            (w.id, w.level, w.state) for w in warnings
        ]
        assert container.audit.verify().finding is None

        again = container.retention.run()
        assert (again.observations_summarised, again.observations_deleted) == (0, 0)

        late_at = int(rollups[0].start) + 1  # a late observation in the first summarised hour
        late = RawObservations([GAUGE], np.array([late_at]), np.array([100.0]))
        container.ingest.ingest(late, principal=SYSTEM)
        joined = container.retention.run()
        assert (joined.observations_summarised, joined.observations_deleted) == (1, 1)
        with container.store.transaction() as tx:
            first = tx.observations.rollups(ident, until=rollups[0].start)
        assert [(r.count, r.maximum) for r in first] == [(rollups[0].count + 1, 100.0)]
        assert first[0].minimum == rollups[0].minimum
    finally:
        container.close()


def test_drop_deletes_without_summaries_and_unset_keeps_everything(
    store_url: str, tmp_path: Path
) -> None:
    container, clock = _world(store_url, tmp_path, observations_after_retention="drop")
    try:
        times, _ = _feed(container, clock, seed=2)
        done = container.retention.run()
        cutoff = done.observations_before
        assert cutoff is not None
        assert done.observations_summarised == 0
        assert done.observations_deleted == int((times < cutoff).sum()) > 0
        with container.store.transaction() as tx:
            assert tx.observations.rollups(container.rules.ids[GAUGE]) == []
            assert tx.observations.count() == int((times >= cutoff).sum())
    finally:
        container.close()
    keeper, clock = _world("memory://", tmp_path, retain_observations_days=None)
    try:
        times, _ = _feed(keeper, clock, seed=3)
        kept = keeper.retention.run()
        assert (kept.observations_deleted, kept.observations_before) == (0, None)
        with keeper.store.transaction() as tx:
            assert tx.observations.count() == len(times)
    finally:
        keeper.close()


def test_times_before_1970_fall_in_the_interval_that_holds_them(
    store_url: str, tmp_path: Path
) -> None:
    container, _ = _world(store_url, tmp_path)
    try:
        times = np.array([-7_201, -3_601, -3_600, -1], dtype=np.int64)
        values = np.array([1.0, 2.0, 3.0, 4.0])
        container.ingest.ingest(RawObservations([GAUGE] * 4, times, values), principal=SYSTEM)
        assert container.retention.run().observations_summarised == 4
        with container.store.transaction() as tx:
            found = tx.observations.rollups(container.rules.ids[GAUGE])
        assert [(r.start, r.count, r.total) for r in found] == [
            (-10_800, 1, 1.0),
            (-7_200, 1, 2.0),
            (-3_600, 2, 7.0),
        ]
    finally:
        container.close()


def test_a_policy_shorter_than_its_interval_or_an_odd_interval_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one rollup interval"):
        RollupPolicy(timedelta(minutes=30), interval_s=HOUR)
    with pytest.raises(InvalidInput, match="between 60 and 604800 seconds"):
        RollupPolicy(timedelta(days=30), interval_s=10)


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Container]]:
    container, clock = _world(sqlite_url, tmp_path)
    _feed(container, clock, seed=4)
    container.retention.run()
    container.admin.add_user("duty", Role.DUTY_OFFICER, unit="NAT", actor="test")
    token = container.access.issue("duty", TokenRequest("test"), actor="test")[1]
    with TestClient(create_app(container), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, container
    container.close()


def test_the_api_reads_the_summaries(served: tuple[TestClient, Container]) -> None:
    client, container = served
    with container.store.transaction() as tx:
        stored = tx.observations.rollups(container.rules.ids[GAUGE])
    answer = client.get(f"/api/v1/indicators/{GAUGE}/rollups")
    assert answer.status_code == 200
    body = answer.json()
    assert body["starts"] == [r.start for r in stored]
    assert body["counts"] == [r.count for r in stored]
    assert body["mean"] == pytest.approx([r.mean for r in stored])
    assert set(body["interval_s"]) == {HOUR}
    since = stored[10].start
    part = client.get(f"/api/v1/indicators/{GAUGE}/rollups", params={"since": since}).json()
    assert part["starts"] == [r.start for r in stored[10:]]
    assert client.get("/api/v1/indicators/nope/rollups").status_code == 404
